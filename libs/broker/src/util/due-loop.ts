import { WakeSignal } from './wake-signal';

/** What a pass reports: ms until the next item is due (null: nothing known), or run again at once. */
export type PassResult = { nextDueInMs: number | null } | 'again';

/**
 * A background loop that sleeps until the next item is due: it runs `pass`, then waits for
 * the due time the pass reported (at most `pollInterval`, the fallback when no notification
 * comes), unless `dueIn` learns of an earlier one. Shared by the due-message mover and the
 * check-back loop. A failing pass is reported and retried after the poll interval.
 */
export class DueLoop {
  private readonly signal = new WakeSignal();
  private wakeAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly pass: () => Promise<PassResult>,
    private readonly pollInterval: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops after the pass in progress, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.signal.wake();
    await this.loop;
  }

  /** Something is due in `inMs` (null: maybe now): wakes the loop if that is before its planned wake-up. */
  dueIn(inMs: number | null): void {
    if (inMs === null || Date.now() + inMs < this.wakeAt) this.signal.wake();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let sleep = this.pollInterval;
      try {
        const result = await this.pass();
        if (result === 'again') continue;
        if (result.nextDueInMs !== null) sleep = Math.min(this.pollInterval, Math.max(0, Math.ceil(result.nextDueInMs)));
      } catch (error) {
        this.onError(error);
      }
      if (this.stopped) break;
      this.wakeAt = Date.now() + sleep;
      if (sleep > 0) await this.signal.wait(sleep);
      this.wakeAt = Number.POSITIVE_INFINITY;
    }
  }
}
