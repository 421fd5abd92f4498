import { DatabaseError } from 'pg';
import type { BrokerContext } from '../broker-context';
import { BatchTooLargeError } from '../errors/batch-too-large.error';
import { InvalidMessageError } from '../errors/invalid-message.error';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { toHeraldError } from '../errors/store-errors';
import { TopicNotFoundError } from '../errors/topic-not-found.error';
import { errorText } from '../logger';
import type { Message, SendReceipt } from '../message';
import { OutgoingMessage, toOutgoingMessage } from '../message-validation';
import type { QueuedMessage } from '../store/messages';
import { assertGroupName } from '../topic-name';
import { QueueSelector } from './queue-selector';
import { ANY_QUEUE } from './flush-queue-selector';

export interface ProducerOptions {
  /** Producer group: the producers of one service. Required. */
  group: string;
}

/**
 * Sends messages. `send` resolves once the message is committed in PostgreSQL;
 * concurrent sends of the whole broker share one group commit.
 */
export class Producer {
  readonly group: string;
  private readonly queueSelector = new QueueSelector();

  /** @internal use `broker.producer(...)` */
  constructor(
    private readonly ctx: BrokerContext,
    options: ProducerOptions,
  ) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be an object');
    assertGroupName(options.group);
    this.group = options.group;
  }

  async send(message: Message): Promise<SendReceipt> {
    const [receipt] = await this.sendBatch([message]);
    return receipt;
  }

  /**
   * Sends messages of one topic atomically: all are stored, or none. A batch of
   * several messages may total at most the broker's `maxBatchBytes` (BatchTooLargeError).
   */
  async sendBatch(messages: Message[]): Promise<SendReceipt[]> {
    this.ctx.assertOpen('send');
    if (!Array.isArray(messages) || messages.length === 0) {
      throw new InvalidMessageError('messages', 'sendBatch needs a non-empty array');
    }
    const outgoing = messages.map((m) => toOutgoingMessage(m, this.ctx.options.maxMessageSize, this.ctx.options));
    const topic = outgoing[0].topic;
    if (outgoing.some((m) => m.topic !== topic)) {
      throw new InvalidMessageError('topic', 'all messages of a batch must have the same topic', topic);
    }
    if (outgoing.length > 1) {
      const size = outgoing.reduce((n, m) => n + m.bytes, 0);
      if (size > this.ctx.options.maxBatchBytes) throw new BatchTooLargeError(topic, size, this.ctx.options.maxBatchBytes);
    }
    const tracing = this.ctx.tracing;
    const append = tracing === null ? () => this.append(topic, outgoing) : () => tracing.send('send', topic, outgoing, () => this.append(topic, outgoing));
    const metrics = this.ctx.metrics;
    if (metrics === null) return append();
    const startedAt = performance.now();
    try {
      const receipts = await append();
      metrics.sent(topic, startedAt, true);
      return receipts;
    } catch (error) {
      metrics.sent(topic, startedAt, false);
      throw error;
    }
  }

  /**
   * Sends without waiting for the store. Bad input, and a full send queue
   * (SendQueueFullError), still throw at once; store failures are logged.
   */
  sendOneway(message: Message): void {
    this.ctx.assertOpen('send');
    const outgoing = toOutgoingMessage(message, this.ctx.options.maxMessageSize, this.ctx.options);
    (outgoing.delayMs > 0 ? this.ctx.delayedWriter : this.ctx.appender).admit([outgoing]);
    this.append(outgoing.topic, [outgoing]).catch((error: unknown) => {
      this.ctx.options.logger.log('error', 'oneway send failed', {
        group: this.group,
        topic: outgoing.topic,
        msgId: outgoing.msgId,
        error: errorText(error),
      });
    });
  }

  private async append(topic: string, outgoing: OutgoingMessage[]): Promise<SendReceipt[]> {
    try {
      const queues = await this.ctx.routes.queueCount(topic);
      // the messages are this producer's own (fresh from validation): queues are set in place
      if (outgoing.some((m) => m.delayMs > 0)) {
        for (const m of outgoing) m.queueId = this.queueSelector.select(m.topic, m.messageGroup, queues);
        return await this.schedule(topic, outgoing);
      }
      // without a messageGroup, the group-commit flush picks the queue (one per topic per flush)
      for (const m of outgoing) {
        m.queueId = m.messageGroup !== null ? QueueSelector.forMessageGroup(m.messageGroup, queues) : ANY_QUEUE;
        m.queueCount = queues;
      }
      const results = await this.ctx.appender.submit(outgoing);
      return results.map((r, i) => ({ msgId: outgoing[i].msgId, topic, queueId: r.queueId, queueOffset: r.queueOffset }));
    } catch (error) {
      if (error instanceof DatabaseError && error.code === 'P0002') {
        this.ctx.routes.forget(topic);
        throw new TopicNotFoundError(topic);
      }
      throw toHeraldError('send', error);
    }
  }

  /** Delayed messages wait in the broker's schedule; the scheduler appends them when due. */
  private async schedule(topic: string, queued: QueuedMessage[]): Promise<SendReceipt[]> {
    await this.ctx.delayedWriter.submit(queued);
    return queued.map((m) => ({
      msgId: m.msgId,
      topic,
      queueId: m.queueId,
      queueOffset: -1,
      deliverAt: new Date(m.bornAt.getTime() + m.delayMs),
    }));
  }
}
