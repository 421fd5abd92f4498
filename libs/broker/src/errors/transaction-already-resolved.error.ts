import { HeraldError } from './herald.error';

/** A commit of a rolled-back transaction, or a rollback of a committed one. */
export class TransactionAlreadyResolvedError extends HeraldError {
  constructor(
    readonly transactionId: string,
    readonly outcome: 'COMMIT' | 'ROLLBACK',
  ) {
    super('TRANSACTION_ALREADY_RESOLVED', `Transaction ${transactionId} was already ${outcome === 'COMMIT' ? 'committed' : 'rolled back'}`, {
      transactionId,
      outcome,
    });
  }
}
