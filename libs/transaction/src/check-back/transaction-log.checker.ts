import { MessageView, TransactionChecker, TransactionResolution } from '@herald/broker';
import type { NestBrokerLogger } from '../nest-broker-logger';
import type { ServiceStore } from '../store/service-store';

/**
 * Answers check-backs from the transaction log with the barrier of ServiceStore.claimForCheck:
 * exact whatever the timing, because the local transaction and the check-back
 * compete for the same primary key. A half older than the log horizon with no row is
 * answered UNKNOWN, never ROLLBACK: its row may have existed. Per-topic overrides come first.
 */
export class TransactionLogChecker {
  /** @internal HeraldModule builds it */
  constructor(
    private readonly store: ServiceStore,
    private readonly overrides: ReadonlyMap<string, TransactionChecker>,
    private readonly logger: NestBrokerLogger,
  ) {}

  async check(message: MessageView & { transactionId: string }): Promise<TransactionResolution> {
    const override = this.overrides.get(message.topic);
    if (override) return override(message);
    // born at the producer (its clock), stored at the broker (the broker database's clock): the earlier of the two
    const halfTime = new Date(Math.min(message.bornAt.getTime(), message.storedAt.getTime()));
    const state = await this.store.claimForCheck(message.transactionId, message.topic, message.msgId, halfTime);
    const fields = { transactionId: message.transactionId, topic: message.topic, msgId: message.msgId };
    if (state === 'PAST_HORIZON') {
      this.logger.log(
        'error',
        'check-back of a half older than the transaction-log horizon found no log row: answered UNKNOWN, so it is parked for an operator, not rolled back',
        {
          ...fields,
          bornAt: message.bornAt.toISOString(),
        },
      );
      return 'UNKNOWN';
    }
    const answer: TransactionResolution = state === null ? 'UNKNOWN' : state === 'COMMITTED' ? 'COMMIT' : 'ROLLBACK';
    this.logger.log('info', 'check-back answered', { ...fields, answer });
    return answer;
  }
}
