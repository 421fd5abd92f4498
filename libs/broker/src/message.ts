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
}

/** What `send` resolves with, once the message is durable. */
export interface SendReceipt {
  msgId: string;
  topic: string;
  queueId: number;
  queueOffset: number;
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
