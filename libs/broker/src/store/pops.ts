/** Simple (pull) consumers' receipts: `pop_receipts`, through pop_messages and settle_receipt in sql/functions.sql. */

import type { StoredMessage } from '../stored-message';
import type { Db } from './db';
import { MessageRow, toStoredMessage } from './rows';

export interface PoppedMessage {
  message: StoredMessage;
  receipt: string;
}

/** Hands out messages to a simple (pull) consumer of `group`; see pop_messages in sql/functions.sql. */
export async function popMessages(
  db: Db,
  request: { group: string; topics: string[]; tags: (string | null)[]; max: number; invisibleMs: number; maxReconsumeTimes: number; maxBytes: number },
): Promise<PoppedMessage[]> {
  const { rows } = await db.query<MessageRow & { receipt: string }>({
    name: 'herald_pop_messages',
    text: `SELECT * FROM pop_messages($1, $2::text[], $3::text[], $4, $5, $6, $7)`,
    values: [request.group, request.topics, request.tags, request.max, request.invisibleMs, request.maxReconsumeTimes, request.maxBytes],
  });
  return rows.map((row) => ({ message: toStoredMessage(row), receipt: row.receipt }));
}

/** Acks (`extendMs` null) or extends a received message; returns the new receipt, or null if the old one is stale. */
export async function settleReceipt(
  db: Db,
  ref: { group: string; topic: string; queueId: number; offset: number; receipt: string },
  extendMs: number | null,
): Promise<string | null> {
  const { rows } = await db.query<{ receipt: string | null }>({
    name: 'herald_settle_receipt',
    text: 'SELECT settle_receipt($1, $2, $3, $4, $5, $6) AS receipt',
    values: [ref.group, ref.topic, ref.queueId, ref.offset, ref.receipt, extendMs],
  });
  return rows[0].receipt;
}
