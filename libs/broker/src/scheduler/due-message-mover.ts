import type { BrokerContext } from '../broker-context';
import { errorText } from '../logger';
import { moveDueMessages } from '../store/statements';
import { WakeSignal } from '../util/wake-signal';

const BATCH = 500;
/** Pause before trying again when another process holds the runner lock. */
const BUSY_RETRY_MS = 250;

/**
 * Moves due retries from `scheduled_messages` into their queues. Every broker runs
 * one; an advisory lock lets one of them work at a time. It sleeps until the next
 * due time (told by the store, or by a notification when an earlier one is
 * scheduled), with the poll interval as a fallback.
 */
export class DueMessageMover {
  private readonly signal = new WakeSignal();
  private loop: Promise<void> | null = null;
  private stopped = false;
  private wakeAt = Number.POSITIVE_INFINITY;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly ctx: BrokerContext) {}

  start(): void {
    this.unsubscribe = this.ctx.listener.subscribe(this.ctx.channels.scheduled, (payload) => {
      const inMs = Number(payload);
      if (payload === '*' || !Number.isFinite(inMs) || Date.now() + inMs < this.wakeAt) this.signal.wake();
    });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.signal.wake();
    await this.loop;
  }

  /** One pass: moves everything due now. Returns how many messages were moved. */
  async runOnce(): Promise<{ moved: number; nextDueInMs: number | null; busy: boolean }> {
    let total = 0;
    for (;;) {
      const { moved, nextDueInMs } = await moveDueMessages(this.ctx.schedulerPool, BATCH);
      if (moved < 0) return { moved: total, nextDueInMs, busy: true };
      total += moved;
      if (moved < BATCH) return { moved: total, nextDueInMs, busy: false };
    }
  }

  private async run(): Promise<void> {
    const { pollInterval, logger } = this.ctx.options;
    while (!this.stopped) {
      let sleep = pollInterval;
      try {
        const pass = await this.runOnce();
        if (pass.busy) sleep = Math.min(pollInterval, BUSY_RETRY_MS);
        else if (pass.nextDueInMs !== null) sleep = Math.min(pollInterval, Math.max(0, Math.ceil(pass.nextDueInMs)));
      } catch (error) {
        logger.log('warn', 'moving due messages failed; will retry', { error: errorText(error) });
      }
      if (this.stopped) break;
      this.wakeAt = Date.now() + sleep;
      if (sleep > 0) await this.signal.wait(sleep);
      this.wakeAt = Number.POSITIVE_INFINITY;
    }
  }
}
