import type { BrokerContext } from '../broker-context';
import { errorText } from '../logger';
import { settleWithin, TIMED_OUT } from '../util/timeout';
import { StoredMessage, toMessageView } from '../stored-message';
import type { MessageView } from '../message';
import type { SpanHandle } from '../tracing/tracing';
import { DeliveryFailure, failureOf, withFailure } from '../failure';
import type { ConsumeStrategy, FailureAction } from './consume-strategy';
import type { ProcessQueue } from './process-queue';
import type { MessageHandler } from './push-consumer-options';
import type { RetrySender } from './retry-sender';

/** Pause before handing a message back again when the store is unreachable. */
const SEND_BACK_RETRY_MS = 1_000;

export interface DispatcherSettings {
  group: string;
  handler: MessageHandler;
  concurrency: number;
  /** When a queue may start a handler, and where failures go. */
  strategy: ConsumeStrategy;
  /** A handler taking longer counts as failed, ms. */
  consumeTimeout: number;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Runs handlers for pulled messages with bounded concurrency, taking queues in
 * turn; the consume strategy says when a queue may start one (orderly: one at a
 * time) and what a failure leads to.
 */
export class MessageDispatcher {
  private readonly handlers = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly watched = new Set<{ deadline: number; expire: () => void }>();
  private sweeper: NodeJS.Timeout | null = null;
  private pendingCount = 0;
  private stopped = false;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly settings: DispatcherSettings,
    private readonly retrySender: RetrySender,
    private readonly queues: () => Iterable<ProcessQueue>,
    private readonly onFinished: (queue: ProcessQueue) => void,
    /** A queue's client-side lease ran out before a dispatch: it must be dropped, its buffer unrun. */
    private readonly onLeaseLost: (queue: ProcessQueue) => void,
  ) {}

  /** Messages pulled and waiting for a handler. */
  get waiting(): number {
    return this.pendingCount;
  }

  add(queue: ProcessQueue, row: StoredMessage): void {
    queue.enqueue(row);
    this.pendingCount += 1;
  }

  /** Gives a queue's unstarted messages back (the queue is being dropped). */
  abandon(queue: ProcessQueue): void {
    const rows = queue.takeWaiting();
    this.pendingCount -= rows.length;
    queue.abandon(rows.map((row) => row.queueOffset));
  }

  /** Starts handlers while there is room: one message per ready queue per round. */
  pump(): void {
    if (this.stopped) return;
    const { concurrency, strategy } = this.settings;
    const now = Date.now();
    const clock = performance.now();
    let started = true;
    while (started && this.handlers.size < concurrency && this.pendingCount > 0) {
      started = false;
      for (const queue of this.queues()) {
        if (this.handlers.size >= concurrency) break;
        if (queue.waiting === 0 || queue.dropped) continue;
        // fencing: after a stall another member may own the queue already; never run its buffer
        if (!queue.leaseValid(clock)) {
          this.onLeaseLost(queue);
          continue;
        }
        if (!strategy.mayStart(queue)) continue;
        if (queue.blockedUntil > now) {
          this.later(queue.blockedUntil - now, () => this.pump());
          continue;
        }
        const row = queue.next();
        if (row === undefined) continue;
        this.pendingCount -= 1;
        this.start(queue, row);
        started = true;
      }
    }
  }

  /** Handlers running now. */
  get running(): number {
    return this.handlers.size;
  }

  /** Stops starting handlers and waits (up to `timeoutMs`) for the running ones. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await settleWithin([...this.handlers], timeoutMs);
    // handlers still out after the wait are left to themselves: nothing times them out any more
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /**
   * Races a handler's promise against consumeTimeout. One sweeping timer serves every
   * running handler (a timer per message cost ~15 % of the drain rate, measured), and
   * runs only while some handler is out.
   */
  private withConsumeTimeout<T>(handling: PromiseLike<T>): Promise<T | typeof TIMED_OUT> {
    let expire: () => void = () => undefined;
    const expiry = new Promise<typeof TIMED_OUT>((resolve) => {
      expire = () => resolve(TIMED_OUT);
    });
    const watch = { deadline: performance.now() + this.settings.consumeTimeout, expire };
    this.watched.add(watch);
    if (this.sweeper === null && !this.stopped) {
      const period = Math.min(1_000, Math.max(5, Math.floor(this.settings.consumeTimeout / 10)));
      this.sweeper = setInterval(() => this.sweep(), period);
    }
    return Promise.race([handling, expiry]).finally(() => {
      this.watched.delete(watch);
      if (this.watched.size === 0 && this.sweeper !== null) {
        clearInterval(this.sweeper);
        this.sweeper = null;
      }
    });
  }

  private sweep(): void {
    const now = performance.now();
    for (const watch of this.watched) if (watch.deadline <= now) watch.expire();
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private start(queue: ProcessQueue, row: StoredMessage): void {
    queue.handlerStarted();
    const run: Promise<void> = this.consume(queue, row).finally(() => {
      queue.handlerEnded();
      this.handlers.delete(run);
      this.pump();
    });
    this.handlers.add(run);
  }

  private async consume(queue: ProcessQueue, row: StoredMessage): Promise<void> {
    const message = toMessageView(row);
    const metrics = this.ctx.metrics;
    const recorder = metrics?.consumer(this.settings.group, message.topic) ?? null;
    recorder?.delivered(message, true);
    const startedAt = recorder !== null ? performance.now() : 0;
    const tracing = this.ctx.tracing;
    const failure =
      tracing === null
        ? await this.handle(message, null)
        : await tracing.process(this.settings.group, message.topic, row, (span) => this.handle(message, span));
    recorder?.processed(startedAt, failure === null);
    if (failure !== null) {
      // the failure travels with the message: its retry and dead-letter copies say why
      const failed = { ...row, properties: withFailure(row.properties, failure) };
      const action = this.settings.strategy.onFailure(row);
      if (action.kind === 'retry-in-place') {
        metrics?.retried(this.settings.group, message.topic);
        this.retryInPlace(queue, { ...failed, reconsumeTimes: row.reconsumeTimes + 1 }, action);
        return;
      }
      if (!(await this.sendBack(failed, action.kind === 'dead-letter'))) return;
    }
    queue.finish(row.queueOffset);
    this.onFinished(queue);
  }

  /**
   * Runs the handler, raced against consumeTimeout; the failure when the message must be
   * retried, else null. Inside the process span when tracing, so the failure is logged
   * with its trace ids.
   */
  private async handle(message: MessageView, span: SpanHandle | null): Promise<DeliveryFailure | null> {
    try {
      const outcome = this.settings.handler(message);
      // a synchronous handler cannot run late: only promises are raced against consumeTimeout
      const result = isThenable(outcome) ? await this.withConsumeTimeout(outcome) : outcome;
      if (result === TIMED_OUT) {
        const failure = { type: 'timeout', message: `handler exceeded consumeTimeout (${this.settings.consumeTimeout} ms)` };
        span?.fail(new Error(failure.message), 'timeout');
        this.ctx.options.logger.log('warn', 'handler exceeded consumeTimeout; message handed back for retry, its slot freed', {
          group: this.settings.group,
          topic: message.topic,
          msgId: message.msgId,
          reconsumeTimes: message.reconsumeTimes,
          consumeTimeout: this.settings.consumeTimeout,
        });
        return failure;
      }
      if (result !== 'RETRY') return null;
      const failure = { type: 'retry', message: 'the handler asked for a retry' };
      span?.fail(new Error(failure.message), 'retry');
      return failure;
    } catch (error) {
      span?.fail(error, error instanceof Error ? error.name : 'Error');
      this.ctx.options.logger.log('warn', 'handler failed; message will be retried', {
        group: this.settings.group,
        topic: message.topic,
        msgId: message.msgId,
        reconsumeTimes: message.reconsumeTimes,
        error: errorText(error),
      });
      return failureOf(error);
    }
  }

  private retryInPlace(queue: ProcessQueue, row: StoredMessage, action: Extract<FailureAction, { kind: 'retry-in-place' }>): void {
    const delay = action.afterMs;
    const requeue = (): void => {
      if (queue.dropped) {
        queue.abandon([row.queueOffset]);
        return;
      }
      queue.requeue(row);
      this.pendingCount += 1;
    };
    if (action.holdQueue) {
      // the queue stops at this message: nothing behind it runs before it succeeds or is dead-lettered
      requeue();
      queue.holdFor(delay);
      this.later(delay, () => this.pump());
    } else {
      this.later(delay, () => {
        requeue();
        this.pump();
      });
    }
  }

  /** Stores the retry (or dead letter) durably; false when stopped before that succeeded. */
  private async sendBack(row: StoredMessage, deadLetterOnly: boolean): Promise<boolean> {
    for (;;) {
      try {
        const where = deadLetterOnly ? await this.retrySender.deadLetter(row) : await this.retrySender.sendBack(row);
        if (where === 'RETRY') this.ctx.metrics?.retried(this.settings.group, row.originTopic ?? row.topic);
        if (where === 'DLQ') {
          this.ctx.metrics?.deadLettered(this.settings.group, row.originTopic ?? row.topic);
          this.ctx.options.logger.log('warn', 'message moved to the dead-letter queue', {
            group: this.settings.group,
            topic: row.originTopic ?? row.topic,
            msgId: row.msgId,
            reconsumeTimes: row.reconsumeTimes,
          });
        }
        return true;
      } catch (error) {
        this.ctx.options.logger.log('error', 'could not store the retry; trying again', {
          group: this.settings.group,
          msgId: row.msgId,
          error: errorText(error),
        });
        if (this.stopped) return false;
        await new Promise((resolve) => setTimeout(resolve, SEND_BACK_RETRY_MS));
      }
    }
  }
}
