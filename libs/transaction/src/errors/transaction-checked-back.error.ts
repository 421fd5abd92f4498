import { HeraldError } from '@herald/broker';

/**
 * A check-back claimed this transaction as rolled back before the local transaction
 * wrote its log row (the local transaction ran longer than `transactionTimeout`).
 * The local transaction was rolled back and no message was sent.
 */
export class TransactionCheckedBackError extends HeraldError {
  constructor(
    readonly transactionId: string,
    readonly topic: string,
    cause: unknown,
  ) {
    super(
      'TRANSACTION_CHECKED_BACK',
      `Transaction ${transactionId} (topic "${topic}") was rolled back: a check-back resolved it before the local transaction ` +
        'wrote its log row (it ran longer than transactionTimeout). Nothing was committed and no message was sent.',
      { transactionId, topic },
      { cause },
    );
  }
}
