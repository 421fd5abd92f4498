import type { MessageView } from './message';
import { messageBytes, OutgoingMessage } from './message-validation';
import { userProperties } from './reserved-properties';

/**
 * A message as the store holds it, mapped from its row at the store boundary. `topic` is
 * where this copy is stored (`%RETRY%<group>` or `%DLQ%<group>` for copies, whose original
 * topic is `originTopic`); `body`, `keys` and `properties` are null when a pull left them out.
 */
export interface StoredMessage {
  topic: string;
  queueId: number;
  queueOffset: number;
  msgId: string;
  tag: string | null;
  keys: string[] | null;
  messageGroup: string | null;
  properties: Record<string, string> | null;
  body: Buffer | null;
  bornAt: Date;
  storedAt: Date;
  reconsumeTimes: number;
  originTopic: string | null;
}

/** What consumers see: retries and DLQ copies show their original topic. */
export function toMessageView(m: StoredMessage): MessageView {
  return {
    msgId: m.msgId,
    topic: m.originTopic ?? m.topic,
    body: m.body ?? Buffer.alloc(0),
    tag: m.tag ?? undefined,
    keys: m.keys ?? [],
    messageGroup: m.messageGroup ?? undefined,
    properties: m.properties === null ? {} : userProperties(m.properties),
    queueId: m.queueId,
    queueOffset: m.queueOffset,
    bornAt: m.bornAt,
    storedAt: m.storedAt,
    reconsumeTimes: m.reconsumeTimes,
  };
}

/**
 * A stored message as a new message for one of the broker's single-queue topics
 * (`%RETRY%`, `%DLQ%`): same msgId, body and born time, original topic kept.
 */
export function storedCopy(m: StoredMessage): Omit<OutgoingMessage, 'topic' | 'reconsumeTimes' | 'delayMs'> {
  const copy = { body: m.body ?? Buffer.alloc(0), tag: m.tag, keys: m.keys, messageGroup: m.messageGroup, properties: m.properties };
  return { ...copy, msgId: m.msgId, bornAt: m.bornAt, originTopic: m.originTopic ?? m.topic, bytes: messageBytes(copy), queueId: 0, queueCount: 1 };
}
