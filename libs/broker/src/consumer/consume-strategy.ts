import type { StoredMessage } from '../stored-message';
import type { ProcessQueue } from './process-queue';

/** What the dispatcher does with a message whose handler failed or timed out. */
export type FailureAction =
  /** Run it again in this member after `afterMs`; `holdQueue`: nothing behind it runs meanwhile. */
  | { kind: 'retry-in-place'; afterMs: number; holdQueue: boolean }
  /** Hand it to `%RETRY%<group>` (the retry sender dead-letters it past maxReconsumeTimes). */
  | { kind: 'send-back' }
  /** Out of retries: to `%DLQ%<group>`. */
  | { kind: 'dead-letter' };

/**
 * How a push consumer consumes (RocketMQ's consume services): when a queue may start
 * another handler, and where a failure goes. The dispatcher runs handlers; the strategy
 * only decides.
 */
export interface ConsumeStrategy {
  /** Failures go through `%RETRY%<group>`, which the group then also consumes. */
  readonly usesRetryTopic: boolean;
  mayStart(queue: ProcessQueue): boolean;
  onFailure(message: StoredMessage): FailureAction;
}

/** Clustering, concurrent: handlers run in parallel; a failure is retried through `%RETRY%<group>` by whichever member gets it. */
export class ConcurrentConsumeStrategy implements ConsumeStrategy {
  readonly usesRetryTopic = true;

  mayStart(): boolean {
    return true;
  }

  onFailure(): FailureAction {
    return { kind: 'send-back' };
  }
}

/** Clustering, orderly: one handler per queue; a failed message blocks its queue and is retried in place. */
export class OrderlyConsumeStrategy implements ConsumeStrategy {
  readonly usesRetryTopic = false;

  constructor(
    private readonly maxReconsumeTimes: number,
    private readonly suspendTime: number,
  ) {}

  mayStart(queue: ProcessQueue): boolean {
    return queue.running === 0;
  }

  onFailure(message: StoredMessage): FailureAction {
    return message.reconsumeTimes < this.maxReconsumeTimes ? { kind: 'retry-in-place', afterMs: this.suspendTime, holdQueue: true } : { kind: 'dead-letter' };
  }
}

/**
 * Broadcasting: every member applies every message, so a failure is this member's own and is
 * retried here, after the decaying delays (the group's retry topic would reach one member only).
 */
export class BroadcastConsumeStrategy implements ConsumeStrategy {
  readonly usesRetryTopic = false;

  constructor(
    private readonly maxReconsumeTimes: number,
    /** Milliseconds before retry number n (1-based). */
    private readonly delayOf: (retry: number) => number,
  ) {}

  mayStart(): boolean {
    return true;
  }

  onFailure(message: StoredMessage): FailureAction {
    return message.reconsumeTimes < this.maxReconsumeTimes
      ? { kind: 'retry-in-place', afterMs: this.delayOf(message.reconsumeTimes + 1), holdQueue: false }
      : { kind: 'dead-letter' };
  }
}

export function consumeStrategyFor(
  options: { model: 'CLUSTERING' | 'BROADCASTING'; orderly: boolean; maxReconsumeTimes: number; orderlySuspendTime: number },
  delayOf: (retry: number) => number,
): ConsumeStrategy {
  if (options.model === 'BROADCASTING') return new BroadcastConsumeStrategy(options.maxReconsumeTimes, delayOf);
  if (options.orderly) return new OrderlyConsumeStrategy(options.maxReconsumeTimes, options.orderlySuspendTime);
  return new ConcurrentConsumeStrategy();
}
