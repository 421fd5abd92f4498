/**
 * Row shapes as node-postgres returns them (int8 arrives as a string) and their mapping to
 * domain types. Only store modules import this file (an ESLint rule keeps it so).
 */
import type { StoredMessage } from '../stored-message';

/** A `messages` row (or a row shaped like one: a half, a popped message). */
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

/** The columns of a MessageRow, for statements that read whole messages. */
export const MESSAGE_COLUMNS = `topic, queue_id, queue_offset, msg_id, tag, keys, message_group, properties, body, born_at, stored_at,
            reconsume_times, origin_topic`;

export function toStoredMessage(row: MessageRow): StoredMessage {
  return {
    topic: row.topic,
    queueId: row.queue_id,
    queueOffset: Number(row.queue_offset),
    msgId: row.msg_id,
    tag: row.tag,
    keys: row.keys,
    messageGroup: row.message_group,
    properties: row.properties,
    body: row.body,
    bornAt: row.born_at,
    storedAt: row.stored_at,
    reconsumeTimes: row.reconsume_times,
    originTopic: row.origin_topic,
  };
}
