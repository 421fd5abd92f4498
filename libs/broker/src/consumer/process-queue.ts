import type { StoredMessage } from '../stored-message';
import type { Subscription } from './push-consumer-options';
import { queueKey } from '../util/keys';

/**
 * The state of one queue this member consumes, kept behind methods: the push consumer
 * (pulls, wake-ups, leases, commits) and the dispatcher (handlers) each change it only
 * through them. Messages are tracked in offset order; the offset to commit is the lowest
 * one not yet finished, so a crash never skips an unfinished message, whatever order the
 * handlers finish in.
 */
export class ProcessQueue {
  /** Offsets pulled but not finished, in pull (= offset) order; finished ones are trimmed from the front. */
  private readonly tracked: number[] = [];
  private readonly finished = new Set<number>();
  private readonly sizes = new Map<number, number>();
  private idleWaiters: (() => void)[] = [];
  /** Pulled, not started, in offset order (a message retried in place goes back to the front). */
  private readonly waitingMessages: StoredMessage[] = [];
  private pullFrom: number;
  private committed: number;
  private more = true;
  private wakeCount = 0;
  private isDropped = false;
  private handlers = 0;
  private holdUntil = 0;
  private lease = Number.POSITIVE_INFINITY;
  private bytes = 0;

  constructor(
    readonly topic: string,
    readonly queueId: number,
    /** What this queue's messages are filtered by. */
    readonly subscription: Subscription,
    offset: number,
  ) {
    this.pullFrom = offset;
    this.committed = offset;
  }

  get key(): string {
    return queueKey(this.topic, this.queueId);
  }

  /** The next offset to pull. */
  get nextPullOffset(): number {
    return this.pullFrom;
  }

  /** The offset last stored for the group. */
  get committedOffset(): number {
    return this.committed;
  }

  markCommitted(offset: number): void {
    this.committed = Math.max(this.committed, offset);
  }

  // --- pulling ---

  /** Set by a wake-up (notification or poll): there may be more to pull. */
  get mayHaveMore(): boolean {
    return this.more;
  }

  /** Counts wake-ups, so a pull that raced one does not conclude the queue is drained. */
  get wakeups(): number {
    return this.wakeCount;
  }

  wake(): void {
    this.more = true;
    this.wakeCount += 1;
  }

  /** A pull came back short: nothing more to pull, unless a wake-up arrived since it was sent. */
  pulledAll(wakeupsWhenSent: number): void {
    if (this.wakeCount === wakeupsWhenSent) this.more = false;
  }

  /** Body bytes pulled and not finished. */
  get bufferedBytes(): number {
    return this.bytes;
  }

  /** Messages pulled and not finished (waiting or running). */
  get outstanding(): number {
    return this.tracked.length - this.finished.size;
  }

  track(offset: number, bytes = 0): void {
    this.tracked.push(offset);
    this.pullFrom = offset + 1;
    if (bytes > 0) {
      this.sizes.set(offset, bytes);
      this.bytes += bytes;
    }
  }

  // --- the lease and dropping ---

  /**
   * Until when (performance.now() ms) this member may dispatch and commit for the
   * queue: half the server's lease, counted from when the claim or renewal was sent,
   * so it always ends before another member could take the queue (RocketMQ: 30 s
   * client lock against 60 s broker lock). Infinity without locks (broadcasting).
   */
  setLease(deadline: number): void {
    this.lease = deadline;
  }

  extendLease(deadline: number): void {
    this.lease = Math.max(this.lease, deadline);
  }

  /** True while this member may still act on the queue. */
  leaseValid(now: number = performance.now()): boolean {
    return now < this.lease;
  }

  get dropped(): boolean {
    return this.isDropped;
  }

  /** Marks the queue as handed back; false if it already was. */
  markDropped(): boolean {
    if (this.isDropped) return false;
    this.isDropped = true;
    return true;
  }

  // --- messages waiting for a handler, and handlers ---

  get waiting(): number {
    return this.waitingMessages.length;
  }

  enqueue(message: StoredMessage): void {
    this.waitingMessages.push(message);
  }

  /** Puts a message retried in place back at the front: it runs before those behind it. */
  requeue(message: StoredMessage): void {
    this.waitingMessages.unshift(message);
  }

  next(): StoredMessage | undefined {
    return this.waitingMessages.shift();
  }

  /** Removes and returns every waiting message (the queue is being dropped). */
  takeWaiting(): StoredMessage[] {
    return this.waitingMessages.splice(0);
  }

  /** Handlers of this queue running now. */
  get running(): number {
    return this.handlers;
  }

  handlerStarted(): void {
    this.handlers += 1;
  }

  handlerEnded(): void {
    this.handlers -= 1;
  }

  /** An orderly queue whose head failed waits until then (epoch ms). */
  get blockedUntil(): number {
    return this.holdUntil;
  }

  holdFor(ms: number): void {
    this.holdUntil = Date.now() + ms;
  }

  // --- finishing and committing ---

  finish(offset: number): void {
    this.release(offset);
    this.finished.add(offset);
    while (this.tracked.length > 0 && this.finished.has(this.tracked[0])) {
      this.finished.delete(this.tracked[0]);
      this.tracked.shift();
    }
    if (this.tracked.length === 0) this.wakeIdleWaiters();
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
      this.pullFrom = Math.min(this.pullFrom, offset);
    }
    if (this.tracked.length === 0) this.wakeIdleWaiters();
  }

  /** The offset the group may store: everything below it is finished. */
  offsetToCommit(): number {
    return this.tracked.length > 0 ? this.tracked[0] : this.pullFrom;
  }

  /** Resolves once every tracked message has finished. */
  idle(): Promise<void> {
    if (this.tracked.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private release(offset: number): void {
    const bytes = this.sizes.get(offset);
    if (bytes !== undefined) {
      this.sizes.delete(offset);
      this.bytes -= bytes;
    }
  }

  private wakeIdleWaiters(): void {
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
