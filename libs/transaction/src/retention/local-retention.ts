import type { Broker } from '@herald/broker';
import { errorText } from '@herald/broker/internal';
import type { NestBrokerLogger } from '../nest-broker-logger';
import type { ExpiredRows, InboxKey, RetentionCursor, ServiceStore } from '../store/service-store';

/** Rows looked at per round trip; the broker look-ups take at most 10 000 ids. */
const BATCH = 10_000;

interface SweepResult {
  deleted: number;
  /** Expired rows kept because the broker may still ask about or deliver them. */
  kept: number;
}

/**
 * Deletes transaction-log and inbox rows that are old *and* that the broker can no longer ask
 * about or deliver again:
 * - a log row, once older than `retention` and its half is neither pending nor parked at the
 *   broker (a check-back finding no row would answer ROLLBACK, dropping a committed message);
 * - an inbox row, once older than `inboxRetention` and the broker holds no copy of the message
 *   (a rewind, a retry or a DLQ resend would apply it a second time).
 * Each delete raises its horizon in the same statement (ServiceStore). If the broker does not
 * answer, the pass stops there: nothing is deleted on age alone.
 *
 * The broker comes as a function, called only once there are expired rows to look up: the
 * connection is HeraldRuntime's, and HeraldRuntime.cleanUp() itself runs a pass through
 * `runPass`, so the runner cannot be given the connection when it is built.
 */
export class LocalRetention {
  private timer: NodeJS.Timeout | null = null;
  /** The timer's passes, chained so that two never overlap; awaited by `stop`. */
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ServiceStore,
    private readonly retention: { log: number; inbox: number },
    private readonly logger: NestBrokerLogger,
  ) {}

  /** A pass now, then one every `interval` ms, each after the previous one has finished. */
  start(broker: () => Broker, interval: number): void {
    this.running = this.runPass(broker);
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.runPass(broker));
    }, interval);
    this.timer.unref();
  }

  /** Stops the timer at once; the promise settles when the pass under way, if any, has finished. */
  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.running;
  }

  /** One pass; never throws: a failed pass deletes nothing more and the next one tries again. */
  async runPass(broker: () => Broker): Promise<void> {
    try {
      await this.runOnce(broker);
    } catch (error) {
      this.logger.log('warn', 'transaction log and inbox retention failed; nothing more deleted this pass, will retry', { error: errorText(error) });
    }
  }

  private async runOnce(broker: () => Broker): Promise<void> {
    const log = await sweep<string>(
      (after) => this.store.expiredLogRows(this.retention.log, BATCH, after),
      async (ids) => new Set(await broker().admin.openHalfTransactionIds(ids)),
      (id) => id,
      (ids) => this.store.deleteLogRows(ids),
    );
    const inbox = await sweep<InboxKey>(
      (after) => this.store.expiredInboxRows(this.retention.inbox, BATCH, after),
      async (keys) => new Set(await broker().admin.storedMessageIds([...new Set(keys.map((key) => key.msgId))])),
      (key) => key.msgId,
      (keys) => this.store.deleteInboxRows(keys),
    );
    if (log.deleted + log.kept + inbox.deleted + inbox.kept > 0) {
      this.logger.log('info', 'retention pass done', {
        logDeleted: log.deleted,
        logKeptForOpenHalves: log.kept,
        inboxDeleted: inbox.deleted,
        inboxKeptForStoredMessages: inbox.kept,
      });
    }
  }
}

/** Pages through expired rows oldest first, asks the broker which are still needed, deletes the rest. */
async function sweep<K>(
  expired: (after: RetentionCursor<K> | null) => Promise<ExpiredRows<K>>,
  stillNeeded: (keys: K[]) => Promise<Set<string>>,
  idOf: (key: K) => string,
  remove: (keys: K[]) => Promise<number>,
): Promise<SweepResult> {
  const result: SweepResult = { deleted: 0, kept: 0 };
  let after: RetentionCursor<K> | null = null;
  do {
    const batch = await expired(after);
    if (batch.keys.length === 0) break;
    const needed = await stillNeeded(batch.keys);
    const deletable = batch.keys.filter((key) => !needed.has(idOf(key)));
    result.kept += batch.keys.length - deletable.length;
    result.deleted += await remove(deletable);
    after = batch.next;
  } while (after !== null);
  return result;
}
