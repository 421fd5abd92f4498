/** The `consumer_offsets` table: where each group starts, what it commits, resets and progress. */
import type { Db } from './db';

export interface QueueRef {
  topic: string;
  queueId: number;
}

export interface QueueOffset {
  topic: string;
  queueId: number;
  offset: number;
}

export type StartPosition = 'FIRST_OFFSET' | 'LAST_OFFSET' | 'TIMESTAMP';

/**
 * Stores a group's offsets. With a `lockHolder`, only for queues that client still
 * holds the lock on (clustering); without, unconditionally (a broadcasting member's
 * own offsets). The locks are read FOR SHARE: a concurrent `resetOffset` (which
 * deletes them) either waits for this commit or makes it a no-op, never the
 * reverse order that would overwrite the reset with a stale offset.
 */
export async function commitOffsets(db: Db, group: string, lockHolder: string | null, offsets: readonly QueueOffset[]): Promise<void> {
  await db.query({
    name: 'herald_commit_offsets',
    text: `WITH held AS (
             SELECT l.topic, l.queue_id FROM queue_locks l WHERE l.group_name = $1 AND l.client_id = $2 FOR SHARE
           )
           INSERT INTO consumer_offsets AS o (group_name, topic, queue_id, committed_offset, updated_at)
           SELECT $1, u.t, u.q, u.o, now()
           FROM unnest($3::text[], $4::int[], $5::bigint[]) AS u (t, q, o)
           WHERE $2::text IS NULL OR EXISTS (SELECT 1 FROM held h WHERE h.topic = u.t AND h.queue_id = u.q)
           ON CONFLICT (group_name, topic, queue_id) DO UPDATE SET committed_offset = excluded.committed_offset, updated_at = now()`,
    values: [group, lockHolder, offsets.map((o) => o.topic), offsets.map((o) => o.queueId), offsets.map((o) => o.offset)],
  });
}

/**
 * The offsets to consume `queues` from, for a group (or a broadcasting member).
 * A queue never consumed before gets its starting offset stored at once, so a
 * restart resumes from the same place.
 */
export async function startOffsets(
  db: Db,
  group: string,
  /** `after`: for TIMESTAMP, an offset known to be older than the instant; the start is past it. */
  queues: readonly (QueueRef & { start: StartPosition; after?: number })[],
  /**
   * For TIMESTAMP: start at the first message stored at or after this instant, given
   * as a time (`at`), or as how long ago on the database's clock (`agoMs`).
   */
  since: { at: Date } | { agoMs: number } | null,
): Promise<QueueOffset[]> {
  const { rows } = await db.query<{ topic: string; queue_id: number; committed_offset: string }>({
    name: 'herald_start_offsets',
    text: `WITH wanted AS (
             SELECT u.t AS topic, u.q AS queue_id, u.s, u.a FROM unnest($2::text[], $3::int[], $4::text[], $7::bigint[]) AS u (t, q, s, a)
           ), initial AS (
             INSERT INTO consumer_offsets (group_name, topic, queue_id, committed_offset)
             SELECT $1, w.topic, w.queue_id,
                    CASE w.s WHEN 'FIRST_OFFSET' THEN queue_min_offset(qu.topic, qu.queue_id, qu.next_offset)
                             WHEN 'TIMESTAMP' THEN greatest(coalesce((SELECT min(m.queue_offset) FROM messages m
                                                                      WHERE m.topic = w.topic AND m.queue_id = w.queue_id
                                                                        AND m.stored_at >= coalesce($5::timestamptz, now() - $6 * interval '1 millisecond')),
                                                                     qu.next_offset),
                                                            least(w.a + 1, qu.next_offset))
                             ELSE qu.next_offset END
             FROM wanted w JOIN queues qu ON qu.topic = w.topic AND qu.queue_id = w.queue_id
             ON CONFLICT DO NOTHING
             RETURNING topic, queue_id, committed_offset
           )
           SELECT topic, queue_id, committed_offset FROM initial
           UNION ALL
           SELECT o.topic, o.queue_id, o.committed_offset FROM consumer_offsets o
           JOIN wanted w ON o.group_name = $1 AND o.topic = w.topic AND o.queue_id = w.queue_id`,
    values: [
      group,
      queues.map((q) => q.topic),
      queues.map((q) => q.queueId),
      queues.map((q) => q.start),
      since !== null && 'at' in since ? since.at : null,
      since !== null && 'agoMs' in since ? since.agoMs : 0,
      queues.map((q) => q.after ?? -1),
    ],
  });
  return rows.map((row) => ({ topic: row.topic, queueId: row.queue_id, offset: Number(row.committed_offset) }));
}

/** Points a group at `timestamp` on every queue of `topic` (see reset_group_offsets in sql/functions.sql). */
export async function resetGroupOffsets(db: Db, group: string, topic: string, timestamp: Date): Promise<{ queueId: number; offset: number }[]> {
  const { rows } = await db.query<{ queue_id: number; committed_offset: string }>('SELECT queue_id, committed_offset FROM reset_group_offsets($1, $2, $3)', [
    group,
    topic,
    timestamp,
  ]);
  return rows.map((row) => ({ queueId: row.queue_id, offset: Number(row.committed_offset) }));
}

export interface QueueProgressRecord {
  topic: string;
  queueId: number;
  nextOffset: number;
  committedOffset: number;
  clientId: string | null;
}

/** A group's committed offset per queue, with the queue's next offset and the lock holder. */
export async function groupProgress(db: Db, group: string): Promise<QueueProgressRecord[]> {
  const { rows } = await db.query<{ topic: string; queue_id: number; next_offset: string; committed_offset: string; client_id: string | null }>(
    `SELECT o.topic, o.queue_id, qu.next_offset, o.committed_offset, l.client_id
     FROM consumer_offsets o
     JOIN queues qu ON qu.topic = o.topic AND qu.queue_id = o.queue_id
     LEFT JOIN queue_locks l ON l.group_name = o.group_name AND l.topic = o.topic AND l.queue_id = o.queue_id
                             AND l.lease_until > clock_timestamp()
     WHERE o.group_name = $1 ORDER BY o.topic, o.queue_id`,
    [group],
  );
  return rows.map((row) => ({
    topic: row.topic,
    queueId: row.queue_id,
    nextOffset: Number(row.next_offset),
    committedOffset: Number(row.committed_offset),
    clientId: row.client_id,
  }));
}

/** Per group that holds an offset on the queue: has that group consumed past the offset? */
export async function consumedBy(db: Db, topic: string, queueId: number, offset: number): Promise<{ group: string; consumed: boolean }[]> {
  const { rows } = await db.query<{ group_name: string; consumed: boolean }>(
    `SELECT group_name, committed_offset > $3 AS consumed FROM consumer_offsets
     WHERE topic = $1 AND queue_id = $2 ORDER BY group_name`,
    [topic, queueId, offset],
  );
  return rows.map((row) => ({ group: row.group_name, consumed: row.consumed }));
}
