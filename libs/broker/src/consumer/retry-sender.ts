import { messageBytes } from '../message-validation';
import type { BrokerContext } from '../broker-context';
import type { MessageRow } from '../store/rows';
import type { QueuedMessage } from '../store/statements';
import { dlqTopicOf, retryTopicOf } from '../topic-name';

/**
 * Hands a failed message back to the broker: as a retry of the group, due after
 * the decaying schedule (retry n uses delay level n+2: 10s, 30s, 1m, ... 2h), or,
 * past `maxReconsumeTimes`, to the group's dead-letter topic. Same msgId throughout.
 */
export class RetrySender {
  constructor(
    private readonly ctx: BrokerContext,
    private readonly group: string,
    private readonly maxReconsumeTimes: number,
  ) {}

  /** Milliseconds before retry number `retry` (1-based) is due. */
  delayOf(retry: number): number {
    const levels = this.ctx.options.delayLevels;
    return levels[Math.min(retry + 2, levels.length) - 1];
  }

  /** Resolves once the retry or dead letter is durable; returns where it went. */
  async sendBack(row: MessageRow): Promise<'RETRY' | 'DLQ'> {
    if (row.reconsume_times >= this.maxReconsumeTimes) return this.deadLetter(row);
    const retry = row.reconsume_times + 1;
    await this.ctx.delayedWriter.submit([{ ...storedCopy(row), topic: retryTopicOf(this.group), reconsumeTimes: retry, delayMs: this.delayOf(retry) }]);
    return 'RETRY';
  }

  /** Appends the message to `%DLQ%<group>`. */
  async deadLetter(row: MessageRow): Promise<'DLQ'> {
    await this.ctx.appender.submit([{ ...storedCopy(row), topic: dlqTopicOf(this.group), reconsumeTimes: row.reconsume_times, delayMs: 0 }]);
    return 'DLQ';
  }
}

/**
 * A stored message as a new message for one of the broker's single-queue topics
 * (`%RETRY%`, `%DLQ%`): same msgId, body and born time, original topic kept.
 */
export function storedCopy(row: MessageRow): Omit<QueuedMessage, 'topic' | 'reconsumeTimes' | 'delayMs'> {
  const copy = { body: row.body ?? Buffer.alloc(0), tag: row.tag, keys: row.keys, messageGroup: row.message_group, properties: row.properties };
  return { ...copy, msgId: row.msg_id, bornAt: row.born_at, originTopic: row.origin_topic ?? row.topic, bytes: messageBytes(copy), queueId: 0, queueCount: 1 };
}
