import type { BrokerContext } from '../broker-context';
import { StoredMessage, storedCopy } from '../stored-message';
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
  async sendBack(row: StoredMessage): Promise<'RETRY' | 'DLQ'> {
    if (row.reconsumeTimes >= this.maxReconsumeTimes) return this.deadLetter(row);
    const retry = row.reconsumeTimes + 1;
    await this.ctx.delayedWriter.submit([{ ...storedCopy(row), topic: retryTopicOf(this.group), reconsumeTimes: retry, delayMs: this.delayOf(retry) }]);
    return 'RETRY';
  }

  /** Appends the message to `%DLQ%<group>`. */
  async deadLetter(row: StoredMessage): Promise<'DLQ'> {
    await this.ctx.appender.submit([{ ...storedCopy(row), topic: dlqTopicOf(this.group), reconsumeTimes: row.reconsumeTimes, delayMs: 0 }]);
    return 'DLQ';
  }
}
