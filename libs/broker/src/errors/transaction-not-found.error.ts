import { HeraldError } from './herald.error';

/** No half message and no recorded outcome for this transaction id. */
export class TransactionNotFoundError extends HeraldError {
  constructor(readonly transactionId: string) {
    super('TRANSACTION_NOT_FOUND', `Transaction ${transactionId} is unknown to the broker`, { transactionId });
  }
}
