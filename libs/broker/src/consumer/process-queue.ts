import type { MessageRow } from '../store/rows';
import type { Subscription } from './push-consumer-options';

/**
 * Offset bookkeeping of one queue this member consumes. Messages are tracked in
 * offset order; the offset to commit is the lowest one not yet finished, so a crash
 * never skips an unfinished message, whatever order the handlers finish in.
 */
export class ProcessQueue {
  /** Offsets pulled but not finished, in pull (= offset) order; finished ones are trimmed from the front. */
  private readonly tracked: number[] = [];
  private readonly finished = new Set<number>();
  private idleWaiters: (() => void)[] = [];
  nextPullOffset: number;
  committedOffset: number;
  /** Set when a notification or poll says there may be more to pull. */
  mayHaveMore = true;
  /** Bumped by every wake-up, so a pull that raced one does not clear `mayHaveMore`. */
  wakeups = 0;
  dropped = false;
  /** Pulled, not started, in offset order (a message retried in place goes back to the front). */
  readonly pending: MessageRow[] = [];
  /** Handlers of this queue running now. */
  running = 0;
  /** An orderly queue whose head failed waits until then (epoch ms). */
  blockedUntil = 0;

  constructor(
    readonly topic: string,
    readonly queueId: number,
    /** What this queue's messages are filtered by. */
    readonly subscription: Subscription,
    offset: number,
  ) {
    this.nextPullOffset = offset;
    this.committedOffset = offset;
  }

  get key(): string {
    return `${this.topic}\u0000${this.queueId}`;
  }

  /** Messages pulled and not finished (buffered or running). */
  get outstanding(): number {
    return this.tracked.length - this.finished.size;
  }

  track(offset: number): void {
    this.tracked.push(offset);
    this.nextPullOffset = offset + 1;
  }

  finish(offset: number): void {
    this.finished.add(offset);
    while (this.tracked.length > 0 && this.finished.has(this.tracked[0])) {
      this.finished.delete(this.tracked[0]);
      this.tracked.shift();
    }
    if (this.tracked.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /**
   * Gives back messages that were pulled but never started (the queue is being
   * dropped). Handlers start in offset order, so these are the highest offsets:
   * pulling, and the commit, resume from the lowest of them.
   */
  abandon(offsets: readonly number[]): void {
    for (const offset of offsets) {
      const at = this.tracked.indexOf(offset);
      if (at >= 0) this.tracked.splice(at, 1);
      this.finished.delete(offset);
      this.nextPullOffset = Math.min(this.nextPullOffset, offset);
    }
    if (this.tracked.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** The offset the group may store: everything below it is finished. */
  offsetToCommit(): number {
    return this.tracked.length > 0 ? this.tracked[0] : this.nextPullOffset;
  }

  /** Resolves once every tracked message has finished. */
  idle(): Promise<void> {
    if (this.tracked.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
