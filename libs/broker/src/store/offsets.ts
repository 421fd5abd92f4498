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

export interface QueueProgressRecord {
  topic: string;
  queueId: number;
  minOffset: number;
  nextOffset: number;
  /** null: the group has no offset on this queue (yet). */
  committedOffset: number | null;
  clientId: string | null;
  /** When the first message the group has still to consume was stored; null when none is stored. */
  oldestUnconsumedAt: Date | null;
  /** The database's clock at the reading, for ages. */
  now: Date;
}

/**
 * A group's position on every queue of the topics it has offsets on or its live members
 * subscribe to (a queue no member has started on shows with no offset).
 */
export async function groupProgress(db: Db, group: string): Promise<QueueProgressRecord[]> {
  const { rows } = await db.query<{
    topic: string;
    queue_id: number;
    min_offset: string;
    next_offset: string;
    committed_offset: string | null;
    client_id: string | null;
    oldest_unconsumed_at: Date | null;
    now: Date;
  }>(
    `WITH topics AS (
       SELECT jsonb_array_elements_text(g.subscriptions) AS topic FROM group_members g
       WHERE g.group_name = $1 AND g.lease_until > clock_timestamp()
       UNION SELECT o.topic FROM consumer_offsets o WHERE o.group_name = $1
     )
     SELECT qu.topic, qu.queue_id, queue_min_offset(qu.topic, qu.queue_id, qu.next_offset) AS min_offset, qu.next_offset,
            o.committed_offset, l.client_id,
            (SELECT m.stored_at FROM messages m WHERE m.topic = qu.topic AND m.queue_id = qu.queue_id AND m.queue_offset >= o.committed_offset
             ORDER BY m.queue_offset LIMIT 1) AS oldest_unconsumed_at,
            clock_timestamp() AS now
     FROM topics t
     JOIN queues qu ON qu.topic = t.topic
     LEFT JOIN consumer_offsets o ON o.group_name = $1 AND o.topic = qu.topic AND o.queue_id = qu.queue_id
     LEFT JOIN queue_locks l ON l.group_name = $1 AND l.topic = qu.topic AND l.queue_id = qu.queue_id AND l.lease_until > clock_timestamp()
     ORDER BY qu.topic, qu.queue_id`,
    [group],
  );
  return rows.map((row) => ({
    topic: row.topic,
    queueId: row.queue_id,
    minOffset: Number(row.min_offset),
    nextOffset: Number(row.next_offset),
    committedOffset: row.committed_offset === null ? null : Number(row.committed_offset),
    clientId: row.client_id,
    oldestUnconsumedAt: row.oldest_unconsumed_at,
    now: row.now,
  }));
}

export type OffsetTarget = { mode: 'time'; at: Date } | { mode: 'latest' } | { mode: 'offsets'; offsets: ReadonlyMap<number, number> };

export interface OffsetMove {
  queueId: number;
  /** null: the group had no offset on the queue. */
  from: number | null;
  /** null: none before and none given. */
  to: number | null;
  minOffset: number;
  nextOffset: number;
}

/** Moves a group's offsets on a topic, or with `apply` false computes the same moves without writing. */
export async function resetOffsets(db: Db, group: string, topic: string, target: OffsetTarget, apply: boolean): Promise<OffsetMove[]> {
  const ids = target.mode === 'offsets' ? [...target.offsets.keys()] : null;
  const offsets = target.mode === 'offsets' ? [...target.offsets.values()] : null;
  const { rows } = await db.query<{ queue_id: number; from_offset: string | null; to_offset: string | null; min_offset: string; next_offset: string }>(
    'SELECT queue_id, from_offset, to_offset, min_offset, next_offset FROM reset_offsets($1, $2, $3, $4, $5, $6, $7)',
    [group, topic, target.mode, target.mode === 'time' ? target.at : null, ids, offsets, apply],
  );
  const num = (value: string | null): number | null => (value === null ? null : Number(value));
  return rows.map((row) => ({
    queueId: row.queue_id,
    from: num(row.from_offset),
    to: num(row.to_offset),
    minOffset: Number(row.min_offset),
    nextOffset: Number(row.next_offset),
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
