/** A group's `%DLQ%<group>` topic (one queue) for operators: byte-bounded pages, purge. */
import type { StoredMessage } from '../stored-message';
import type { Db } from './db';
import { MESSAGE_COLUMNS, MessageRow, toStoredMessage } from './rows';

export interface DeadLetterFilter {
  /** Only these msgIds (null: any). */
  msgIds: readonly string[] | null;
  /** Stored at or after (null: any). */
  from: Date | null;
  /** Stored before (null: any). */
  to: Date | null;
}

/**
 * The next dead letters after `afterOffset` matching `filter`: at most `limit`, and bodies
 * of about `maxBytes` at most (always one, however large). Sizes are read without the
 * bodies (octet_length reads the TOAST header), so only the page's bodies are fetched.
 */
export async function deadLetterPage(
  db: Db,
  dlqTopic: string,
  afterOffset: number,
  filter: DeadLetterFilter,
  limit: number,
  maxBytes: number,
): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    `WITH page AS (
       SELECT queue_offset, sum(octet_length(body)) OVER (ORDER BY queue_offset) - octet_length(body) AS before
       FROM messages
       WHERE topic = $1 AND queue_offset > $2 AND ($3::text[] IS NULL OR msg_id = ANY ($3::text[]))
         AND ($4::timestamptz IS NULL OR stored_at >= $4) AND ($5::timestamptz IS NULL OR stored_at < $5)
       ORDER BY queue_offset LIMIT $6
     )
     SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE topic = $1 AND queue_offset IN (SELECT queue_offset FROM page WHERE before < $7 OR before = 0)
     ORDER BY queue_offset`,
    [dlqTopic, afterOffset, filter.msgIds, filter.from, filter.to, limit, maxBytes],
  );
  return rows.map(toStoredMessage);
}

/** How many dead letters match `filter`. */
export async function countDeadLetters(db: Db, dlqTopic: string, filter: DeadLetterFilter): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM messages
     WHERE topic = $1 AND ($2::text[] IS NULL OR msg_id = ANY ($2::text[]))
       AND ($3::timestamptz IS NULL OR stored_at >= $3) AND ($4::timestamptz IS NULL OR stored_at < $4)`,
    [dlqTopic, filter.msgIds, filter.from, filter.to],
  );
  return Number(rows[0].n);
}

/**
 * Deletes up to `batch` of the oldest dead letters stored before `before` (null: any). Only
 * a prefix of the queue goes, so its min offset stays the first stored one (sizes are
 * next - min). Returns how many were deleted.
 */
export async function purgeDeadLetters(db: Db, dlqTopic: string, before: Date | null, batch: number): Promise<number> {
  const result = await db.query(
    `DELETE FROM messages WHERE topic = $1 AND queue_offset IN (
       SELECT queue_offset FROM messages WHERE topic = $1 AND ($2::timestamptz IS NULL OR stored_at < $2) ORDER BY queue_offset LIMIT $3
     ) AND queue_offset < coalesce((SELECT min(queue_offset) FROM messages WHERE topic = $1 AND $2::timestamptz IS NOT NULL AND stored_at >= $2), 9223372036854775807)`,
    [dlqTopic, before, batch],
  );
  return result.rowCount ?? 0;
}
