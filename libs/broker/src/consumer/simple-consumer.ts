import { intOption, limitedOption, OPTION_LIMITS } from '../option-limits';
import type { BrokerContext } from '../broker-context';
import { decodeMessages } from '../store/notifications';
import { IllegalStateError } from '../errors/illegal-state.error';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { InvalidReceiptHandleError } from '../errors/invalid-receipt-handle.error';
import type { MessageView } from '../message';
import { registerGroup } from '../store/membership';
import { topicQueueCounts } from '../store/topics';
import { StoredMessage, toMessageView } from '../stored-message';
import type { TracedMessage } from '../tracing/tracing';
import { startOffsets } from '../store/offsets';
import { queueKey } from '../util/keys';
import { databaseTimeAgo } from '../store/maintenance';
import { popMessages, settleReceipt } from '../store/pops';
import { assertUserTopicName, dlqTopicOf, assertGroupName, retryTopicOf } from '../topic-name';
import { guard } from '../errors/store-errors';
import { textProblem } from '../util/text';
import { WakeSignal } from '../util/wake-signal';
import type { ConsumeFromWhere } from './push-consumer-options';
import { parseTagExpression } from './tag-expression';

export interface SimpleConsumerOptions {
  /** Consumer group. Required. */
  group: string;
  /** Topic → tag expression (`*`, `TagA || TagB`). Required. */
  subscriptions: Record<string, string>;
  /** Times a message may reappear before it goes to `%DLQ%<group>`. Default 16. */
  maxReconsumeTimes?: number;
  /** Where a group with no stored position starts. Default `LAST_OFFSET`. */
  consumeFromWhere?: Exclude<ConsumeFromWhere, 'TIMESTAMP'>;
}

export interface ReceiveOptions {
  /** Most messages to take, 1-1024. Default 16. */
  maxMessages?: number;
  /** How long received messages stay hidden from the rest of the group, ms. Default 30 000. */
  invisibleDuration?: number;
  /** When nothing is available, wait up to this long for messages to arrive, ms. Default 0 (return at once). */
  awaitDuration?: number;
}

/** A received message; `receiptHandle` identifies this delivery for `ack` and `changeInvisibleDuration`. */
export interface ReceivedMessage extends MessageView {
  receiptHandle: string;
}

interface ResolvedSimpleConsumerOptions {
  group: string;
  /** The subscribed topics, then `%RETRY%<group>`: dead letters resent by an operator come back through it. */
  topics: string[];
  /** Per topic: `TagA||TagB`, or null for every tag. */
  tags: (string | null)[];
  maxReconsumeTimes: number;
  consumeFromWhere: 'LAST_OFFSET' | 'FIRST_OFFSET';
}

function resolveSimpleConsumerOptions(options: SimpleConsumerOptions): ResolvedSimpleConsumerOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be an object');
  assertGroupName(options.group);
  const entries = Object.entries(options.subscriptions ?? {});
  if (entries.length === 0) throw new InvalidOptionsError('subscriptions', 'must map at least one topic to a tag expression');
  for (const [topic] of entries) assertUserTopicName(topic);
  const from = options.consumeFromWhere ?? 'LAST_OFFSET';
  if (from !== 'LAST_OFFSET' && from !== 'FIRST_OFFSET') {
    throw new InvalidOptionsError('consumeFromWhere', "must be 'LAST_OFFSET' or 'FIRST_OFFSET'");
  }
  return {
    group: options.group,
    topics: [...entries.map(([topic]) => topic), retryTopicOf(options.group)],
    tags: [...entries.map(([, expression]) => parseTagExpression(expression)?.join('||') ?? null), null],
    maxReconsumeTimes: limitedOption(options.maxReconsumeTimes, 'maxReconsumeTimes', OPTION_LIMITS.maxReconsumeTimes),
    consumeFromWhere: from,
  };
}

/**
 * RocketMQ 5's SimpleConsumer: the caller decides when to take work. A received
 * message is invisible to the rest of the group until acked or its invisibility
 * ends; then it reappears with `reconsumeTimes` + 1, and past `maxReconsumeTimes`
 * it goes to the group's dead-letter queue.
 */
export class SimpleConsumer {
  readonly group: string;
  private readonly topics: string[];
  private readonly tags: (string | null)[];
  private readonly maxReconsumeTimes: number;
  private readonly consumeFromWhere: 'LAST_OFFSET' | 'FIRST_OFFSET';
  /** The group's positions, set up by the first receive; a failed set-up is tried again by the next one. */
  private ready: Promise<void> | null = null;
  /**
   * LAST_OFFSET means "from when this consumer was created", though positions are set
   * on the first receive. Kept as a monotonic reading, so that instant is taken on the
   * database's clock (now() minus the time elapsed here), whatever this host's clock says.
   */
  private readonly createdAt = performance.now();
  /** What this broker had acknowledged at creation: those messages precede it whatever the clock says. */
  private readonly appendedBefore: ReadonlyMap<string, number>;
  /** What each received message was stored as: its copy's topic, and the properties with its trace context. */
  private readonly stored = new WeakMap<ReceivedMessage, StoredMessage>();
  private closed = false;

  /** @internal use `broker.simpleConsumer(...)` */
  constructor(
    private readonly ctx: BrokerContext,
    options: SimpleConsumerOptions,
  ) {
    ({
      group: this.group,
      topics: this.topics,
      tags: this.tags,
      maxReconsumeTimes: this.maxReconsumeTimes,
      consumeFromWhere: this.consumeFromWhere,
    } = resolveSimpleConsumerOptions(options));
    this.appendedBefore = ctx.appended.snapshot(this.topics);
  }

  /** Takes up to `maxMessages` messages for this group. */
  async receive(options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    this.assertOpen('receive');
    const max = intOption(options.maxMessages, 'maxMessages', 16, 1, 1_024);
    const invisibleMs = intOption(options.invisibleDuration, 'invisibleDuration', 30_000, 1, 12 * 3_600_000);
    const awaitMs = intOption(options.awaitDuration, 'awaitDuration', 0, 0, 600_000);
    const tracing = this.ctx.tracing;
    return guard('receive', async () => {
      await this.prepared();
      if (tracing === null) return this.pop(max, invisibleMs, awaitMs);
      // the span names the subscribed topics; the last one is the group's retry topic
      return tracing.receive(
        this.group,
        this.topics.slice(0, -1),
        () => this.pop(max, invisibleMs, awaitMs),
        (message) => this.storedOf(message),
      );
    });
  }

  private prepared(): Promise<void> {
    const ready = (this.ready ??= this.prepare());
    ready.catch(() => {
      if (this.ready === ready) this.ready = null;
    });
    return ready;
  }

  private async pop(max: number, invisibleMs: number, awaitMs: number): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + awaitMs;
    const signal = new WakeSignal();
    const unsubscribe =
      awaitMs > 0
        ? this.ctx.listener.subscribe(this.ctx.channels.messages, (payload) => {
            const topic = decodeMessages(payload);
            if (topic === null || this.topics.includes(topic)) signal.wake();
          })
        : null;
    try {
      for (;;) {
        const rows = await popMessages(this.ctx.pool, {
          group: this.group,
          topics: this.topics,
          tags: this.tags,
          max,
          invisibleMs,
          maxReconsumeTimes: this.maxReconsumeTimes,
          // bodies per receive stay within one flush's budget; the rest come with the next receive
          maxBytes: this.ctx.options.maxFlushBytes,
        });
        const left = deadline - Date.now();
        if (rows.length > 0 || left <= 0 || this.closed) {
          return rows.map(({ message: stored, receipt }) => {
            const message = { ...toMessageView(stored), receiptHandle: receipt };
            this.ctx.metrics?.consumer(this.group, message.topic).delivered(message, false);
            this.stored.set(message, stored);
            return message;
          });
        }
        // reappearing messages send no notification: look again at least every second
        await signal.wait(Math.min(left, 1_000));
      }
    } finally {
      unsubscribe?.();
    }
  }

  /** Acknowledges a received message: it is done for this group. */
  async ack(message: ReceivedMessage): Promise<void> {
    this.assertOpen('ack');
    const ref = this.refOf(message);
    const settle = (): Promise<string | null> => guard('ack', () => settleReceipt(this.ctx.pool, ref, null));
    if ((await this.traced('ack', message, settle)) === null) {
      throw new InvalidReceiptHandleError(this.group, message.msgId);
    }
  }

  /** Keeps a received message hidden for `ms` more from now; updates its `receiptHandle`. */
  async changeInvisibleDuration(message: ReceivedMessage, ms: number): Promise<void> {
    this.assertOpen('change invisible duration');
    const extend = intOption(ms, 'invisibleDuration', 0, 1, 12 * 3_600_000);
    const ref = this.refOf(message);
    const settle = (): Promise<string | null> => guard('change invisible duration', () => settleReceipt(this.ctx.pool, ref, extend));
    const receipt = await this.traced('change_invisible_duration', message, settle);
    if (receipt === null) throw new InvalidReceiptHandleError(this.group, message.msgId);
    message.receiptHandle = receipt;
  }

  /** Runs a settle operation in its span when tracing. */
  private traced<T>(operation: 'ack' | 'change_invisible_duration', message: ReceivedMessage, settle: () => Promise<T>): Promise<T> {
    const tracing = this.ctx.tracing;
    return tracing === null ? settle() : tracing.settle(operation, this.group, this.storedOf(message), settle);
  }

  /** A received message with its trace context, under its original topic. */
  private storedOf(message: ReceivedMessage): TracedMessage {
    const stored = this.stored.get(message);
    if (stored !== undefined) return { ...stored, topic: stored.originTopic ?? stored.topic };
    // not received here (refOf refuses it): no context to link to
    return {
      topic: message.topic,
      msgId: message.msgId,
      tag: message.tag ?? null,
      keys: message.keys,
      messageGroup: message.messageGroup ?? null,
      properties: null,
    };
  }

  /** Stops this consumer; unacked messages reappear when their invisibility ends. */
  async shutdown(): Promise<void> {
    this.closed = true;
  }

  private refOf(message: ReceivedMessage): { group: string; topic: string; queueId: number; offset: number; receipt: string } {
    if (
      !message ||
      typeof message.receiptHandle !== 'string' ||
      textProblem(message.receiptHandle) !== null ||
      !Number.isInteger(message.queueId) ||
      !Number.isSafeInteger(message.queueOffset) ||
      message.queueOffset < 0
    ) {
      throw new InvalidOptionsError('message', 'must be a message returned by receive() (receiptHandle, queueId, queueOffset)');
    }
    // a resent dead letter is stored under %RETRY%<group> while the message shows its original topic
    const topic = this.stored.get(message)?.topic ?? message.topic;
    return { group: this.group, topic, queueId: message.queueId, offset: message.queueOffset, receipt: message.receiptHandle };
  }

  private assertOpen(operation: string): void {
    this.ctx.assertOpen(operation);
    if (this.closed) throw new IllegalStateError(`simple consumer of group "${this.group}"`, 'shut down', operation);
  }

  /** Registers the group and gives it a position on every queue of its topics. */
  private async prepare(): Promise<void> {
    for (const topic of this.topics.slice(0, -1)) await this.ctx.routes.queueCount(topic);
    await registerGroup(this.ctx.pool, this.group, 'SIMPLE');
    await this.ctx.routes.create(retryTopicOf(this.group), 1);
    await this.ctx.routes.create(dlqTopicOf(this.group), 1);
    const counts = await topicQueueCounts(this.ctx.pool, this.topics);
    const queues = this.topics.flatMap((topic) =>
      Array.from({ length: counts.get(topic) ?? 0 }, (_, queueId) => ({
        topic,
        queueId,
        start:
          topic === retryTopicOf(this.group)
            ? ('FIRST_OFFSET' as const)
            : this.consumeFromWhere === 'LAST_OFFSET'
              ? ('TIMESTAMP' as const)
              : ('FIRST_OFFSET' as const),
        after: this.appendedBefore.get(queueKey(topic, queueId)),
      })),
    );
    // The creation instant on the database's clock, erring early only: now() is read somewhere
    // within this round trip, so the time elapsed here by its end bounds the time since creation.
    // (now() minus the elapsed time read before a later statement skipped messages stored while
    // that statement waited for a connection.)
    const databaseNow = await databaseTimeAgo(this.ctx.pool, 0);
    const createdAt = new Date(databaseNow.getTime() - Math.ceil(performance.now() - this.createdAt) - 1);
    await startOffsets(this.ctx.pool, this.group, queues, { at: createdAt });
  }
}
