import type { MessageView } from '@herald/broker';

/** What a @MessageListener handler gets besides the payload. */
export interface MessageContext {
  msgId: string;
  topic: string;
  tag?: string;
  keys: string[];
  messageGroup?: string;
  properties: Record<string, string>;
  /** Earlier deliveries of this message that failed (0 on the first delivery). */
  reconsumeTimes: number;
  bornAt: Date;
  queueId: number;
  queueOffset: number;
  /** The raw body, as stored. */
  body: Buffer;
}

export function toMessageContext(view: MessageView): MessageContext {
  return {
    msgId: view.msgId,
    topic: view.topic,
    tag: view.tag,
    keys: view.keys,
    messageGroup: view.messageGroup,
    properties: view.properties,
    reconsumeTimes: view.reconsumeTimes,
    bornAt: view.bornAt,
    queueId: view.queueId,
    queueOffset: view.queueOffset,
    body: view.body,
  };
}
