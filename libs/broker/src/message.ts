/** What a producer sends. */
export interface Message {
  topic: string;
  /** Payload; a string is stored as UTF-8. */
  body: Buffer | string;
  /** One tag, used by consumers' tag filters (`TagA || TagB`). Must not contain `||`. */
  tag?: string;
  /** Business keys (an order id, ...), for look-ups by key. */
  keys?: string[];
  /** Sharding key: all messages of one group go to the same queue, so they stay in send order. */
  messageGroup?: string;
  /** User properties, matched by SQL filters. */
  properties?: Record<string, string>;
  /** Delay level 1-18 (`1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h` by default). */
  delayLevel?: number;
  /** Deliver at this time (Date or epoch ms), at most the broker's `maxDelay` ahead. A past time delivers at once. */
  deliverAt?: Date | number;
}

/** What `send` resolves with, once the message is durable. */
export interface SendReceipt {
  msgId: string;
  topic: string;
  queueId: number;
  /** Offset in the queue; -1 for a delayed message, whose offset is given when it comes due. */
  queueOffset: number;
  /** For a delayed message: when it becomes visible. */
  deliverAt?: Date;
}

/** A message as stored by the broker and handed to consumers. */
export interface MessageView {
  msgId: string;
  /** The topic it was sent to (for a retry, the original topic, not `%RETRY%<group>`). */
  topic: string;
  body: Buffer;
  tag?: string;
  keys: string[];
  messageGroup?: string;
  properties: Record<string, string>;
  queueId: number;
  queueOffset: number;
  bornAt: Date;
  storedAt: Date;
  /** How many times this message was handed back for retry before this delivery. */
  reconsumeTimes: number;
}
