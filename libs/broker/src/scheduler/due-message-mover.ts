import type { PoolClient } from 'pg';
import type { BrokerContext } from '../broker-context';
import { decodeScheduled } from '../store/notifications';
import { errorText } from '../logger';
import { deferOldestDueMessage, moveDueMessages } from '../store/scheduled';
import { DueLoop } from '../util/due-loop';

const BATCH = 500;
/** A message that cannot be moved even alone waits this long, so the ones behind it go on. */
const DEFER_FAILING_MS = 60_000;
/** Pause before trying again when another process holds the runner lock. */
const BUSY_RETRY_MS = 250;

/**
 * Moves due retries from `scheduled_messages` into their queues. Every broker runs
 * one; an advisory lock lets one of them work at a time. It sleeps until the next
 * due time (told by the store, or by a notification when an earlier one is
 * scheduled), with the poll interval as a fallback.
 */
export class DueMessageMover {
  private readonly loop: DueLoop;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly ctx: BrokerContext) {
    this.loop = new DueLoop(
      async () => {
        const pass = await this.runOnce();
        return { nextDueInMs: pass.busy ? BUSY_RETRY_MS : pass.nextDueInMs };
      },
      ctx.options.pollInterval,
      (error) => ctx.options.logger.log('warn', 'moving due messages failed; will retry', { error: errorText(error) }),
    );
  }

  start(): void {
    this.unsubscribe = this.ctx.listener.subscribe(this.ctx.channels.scheduled, (payload) => this.loop.dueIn(decodeScheduled(payload)));
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.loop.stop();
  }

  /**
   * One pass: moves everything due now, in batches bounded by count and by bytes.
   * Returns how many messages were moved.
   */
  async runOnce(): Promise<{ moved: number; nextDueInMs: number | null; busy: boolean }> {
    let total = 0;
    for (;;) {
      const { moved, nextDueInMs, full } = await this.moveBatch();
      if (moved < 0) return { moved: total, nextDueInMs, busy: true };
      total += moved;
      if (!full) return { moved: total, nextDueInMs, busy: false };
    }
  }

  /**
   * A batch; if it fails, the oldest due message alone; if that fails too, it is
   * put back by a minute (logged) so one bad row cannot stop every delay and retry.
   * All three on one connection: a failed statement's backend sends the error before it
   * releases the row locks, so a deferral on another connection could SKIP LOCKED past the
   * failing row and defer a good one instead (seen under CI load).
   */
  private async moveBatch(): Promise<{ moved: number; nextDueInMs: number | null; full: boolean }> {
    const db = await this.ctx.schedulerPool.connect();
    // a checked-out client is not the pool's to watch: a connection killed between the
    // statements would otherwise be an unhandled 'error' event; it is destroyed on release
    let lost: Error | undefined;
    const onError = (error: Error): void => {
      lost = error;
    };
    db.on('error', onError);
    try {
      return await this.moveBatchOn(db);
    } finally {
      db.off('error', onError);
      db.release(lost);
    }
  }

  private async moveBatchOn(db: PoolClient): Promise<{ moved: number; nextDueInMs: number | null; full: boolean }> {
    const budget = this.ctx.options.maxFlushBytes;
    try {
      const pass = await moveDueMessages(db, BATCH, budget);
      // cut by bytes or by count: there may be more due right now
      return { ...pass, full: pass.moved > 0 };
    } catch (batchError) {
      try {
        const one = await moveDueMessages(db, 1, budget);
        return { ...one, full: one.moved > 0 };
      } catch (error) {
        const msgId = await deferOldestDueMessage(db, DEFER_FAILING_MS);
        this.ctx.options.logger.log('error', 'a due message cannot be moved; deferred so the others go on', {
          msgId,
          deferredMs: DEFER_FAILING_MS,
          error: errorText(error),
          batchError: errorText(batchError),
        });
        return { moved: 0, nextDueInMs: 0, full: msgId !== null };
      }
    }
  }
}
