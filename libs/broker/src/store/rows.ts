import type { MessageView } from '../message';

/** A `messages` row as node-postgres returns it (int8 arrives as a string). */
export interface MessageRow {
  topic: string;
  queue_id: number;
  queue_offset: string;
  msg_id: string;
  tag: string | null;
  keys: string[] | null;
  message_group: string | null;
  properties: Record<string, string> | null;
  body: Buffer | null;
  born_at: Date;
  stored_at: Date;
  reconsume_times: number;
  origin_topic: string | null;
}

/** Maps a stored row to what consumers see: retries and DLQ copies show their original topic. */
export function toMessageView(row: MessageRow): MessageView {
  return {
    msgId: row.msg_id,
    topic: row.origin_topic ?? row.topic,
    body: row.body ?? Buffer.alloc(0),
    tag: row.tag ?? undefined,
    keys: row.keys ?? [],
    messageGroup: row.message_group ?? undefined,
    properties: row.properties ?? {},
    queueId: row.queue_id,
    queueOffset: Number(row.queue_offset),
    bornAt: row.born_at,
    storedAt: row.stored_at,
    reconsumeTimes: row.reconsume_times,
  };
}
