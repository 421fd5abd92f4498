import type { StoredMessage } from '../stored-message';
import type { Subscription } from './push-consumer-options';
import { queueKey } from '../util/keys';

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
  readonly pending: StoredMessage[] = [];
  /** Handlers of this queue running now. */
  running = 0;
  /** An orderly queue whose head failed waits until then (epoch ms). */
  blockedUntil = 0;
  /**
   * Until when (performance.now() ms) this member may dispatch and commit for the
   * queue: half the server's lease, counted from when the claim or renewal was sent,
   * so it always ends before another member could take the queue (RocketMQ: 30 s
   * client lock against 60 s broker lock). Infinity without locks (broadcasting).
   */
  leaseDeadline = Number.POSITIVE_INFINITY;
  /** Body bytes pulled and not finished. */
  bufferedBytes = 0;
  private readonly sizes = new Map<number, number>();

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
    return queueKey(this.topic, this.queueId);
  }

  /** Messages pulled and not finished (buffered or running). */
  get outstanding(): number {
    return this.tracked.length - this.finished.size;
  }

  track(offset: number, bytes = 0): void {
    this.tracked.push(offset);
    this.nextPullOffset = offset + 1;
    if (bytes > 0) {
      this.sizes.set(offset, bytes);
      this.bufferedBytes += bytes;
    }
  }

  /** True while this member may still act on the queue. */
  leaseValid(now: number = performance.now()): boolean {
    return now < this.leaseDeadline;
  }

  private release(offset: number): void {
    const bytes = this.sizes.get(offset);
    if (bytes !== undefined) {
      this.sizes.delete(offset);
      this.bufferedBytes -= bytes;
    }
  }

  finish(offset: number): void {
    this.release(offset);
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
      this.release(offset);
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
