/**
 * Statements of consumer groups: membership heartbeats, queue claims and leases,
 * start offsets and offset commits. One named function per operation, as in statements.ts.
 */
import type { Db } from './statements';

export interface QueueOffset {
  topic: string;
  queueId: number;
  offset: number;
}

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

export interface QueueRef {
  topic: string;
  queueId: number;
}

export type StartPosition = 'FIRST_OFFSET' | 'LAST_OFFSET' | 'TIMESTAMP';

/**
 * Claims queues for a group member: free ones, its own, or ones whose lease ran
 * out. Returns the queues granted.
 */
export async function claimQueues(db: Db, group: string, clientId: string, leaseMs: number, queues: readonly QueueRef[]): Promise<QueueRef[]> {
  const { rows } = await db.query<{ topic: string; queue_id: number }>({
    name: 'herald_claim_queues',
    text: `INSERT INTO queue_locks AS l (group_name, topic, queue_id, client_id, lease_until)
           SELECT $1, u.t, u.q, $2, clock_timestamp() + $3 * interval '1 millisecond'
           FROM unnest($4::text[], $5::int[]) AS u (t, q)
           ON CONFLICT (group_name, topic, queue_id) DO UPDATE
             SET client_id = excluded.client_id, lease_until = excluded.lease_until
             WHERE l.client_id = excluded.client_id OR l.lease_until < clock_timestamp()
           RETURNING l.topic, l.queue_id`,
    values: [group, clientId, leaseMs, queues.map((q) => q.topic), queues.map((q) => q.queueId)],
  });
  return rows.map((row) => ({ topic: row.topic, queueId: row.queue_id }));
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

/**
 * Extends this member's leases on `queues` (only those: a queue being handed back
 * is not renewed, so its next owner gets it when the lease runs out even if a
 * handler there never returns); returns the ones it still holds.
 */
export async function renewQueueLocks(db: Db, group: string, clientId: string, leaseMs: number, queues: readonly QueueRef[]): Promise<QueueRef[]> {
  const { rows } = await db.query<{ topic: string; queue_id: number }>({
    name: 'herald_renew_queue_locks',
    text: `UPDATE queue_locks l SET lease_until = clock_timestamp() + $3 * interval '1 millisecond'
           FROM unnest($4::text[], $5::int[]) AS u (t, q)
           WHERE l.group_name = $1 AND l.client_id = $2 AND l.topic = u.t AND l.queue_id = u.q
           RETURNING l.topic, l.queue_id`,
    values: [group, clientId, leaseMs, queues.map((q) => q.topic), queues.map((q) => q.queueId)],
  });
  return rows.map((row) => ({ topic: row.topic, queueId: row.queue_id }));
}

export async function releaseQueueLocks(db: Db, group: string, clientId: string, queues: readonly QueueRef[]): Promise<void> {
  await db.query({
    name: 'herald_release_queue_locks',
    text: `WITH gone AS (
             DELETE FROM queue_locks l USING unnest($3::text[], $4::int[]) AS u (t, q)
             WHERE l.group_name = $1 AND l.client_id = $2 AND l.topic = u.t AND l.queue_id = u.q RETURNING 1)
           SELECT notify_group($1) FROM (SELECT count(*) FROM gone) c`,
    values: [group, clientId, queues.map((q) => q.topic), queues.map((q) => q.queueId)],
  });
}

export interface LiveMember {
  clientId: string;
  topics: string[];
}

/**
 * Renews a member's heartbeat (joining the group if new, which wakes the other
 * members) and returns the group's live members, sorted by client id.
 */
export async function heartbeat(
  db: Db,
  member: { group: string; clientId: string; host: string; pid: number; topics: string[]; leaseMs: number },
): Promise<LiveMember[]> {
  const { rows } = await db.query<{ client_id: string; topics: string[]; joined: boolean }>({
    name: 'herald_heartbeat',
    text: `WITH up AS (
             INSERT INTO group_members AS g (group_name, client_id, host, pid, subscriptions, lease_until)
             VALUES ($1, $2, $3, $4, $5::jsonb, clock_timestamp() + $6 * interval '1 millisecond')
             ON CONFLICT (group_name, client_id) DO UPDATE
               SET heartbeat_at = clock_timestamp(), lease_until = excluded.lease_until, subscriptions = excluded.subscriptions
             RETURNING (xmax = 0) AS joined
           ), wake AS (
             SELECT notify_group($1) FROM up WHERE up.joined
           )
           SELECT m.client_id, ARRAY(SELECT jsonb_array_elements_text(m.subscriptions)) AS topics,
                  (SELECT count(*) FROM wake) > 0 AS joined
           FROM group_members m
           WHERE m.group_name = $1 AND (m.lease_until > clock_timestamp() OR m.client_id = $2)
           ORDER BY m.client_id`,
    values: [member.group, member.clientId, member.host, member.pid, JSON.stringify(member.topics), member.leaseMs],
  });
  return rows.map((row) => ({ clientId: row.client_id, topics: row.topics }));
}

/** Leaves a group: drops the member row and its queue locks, and wakes the others to rebalance. */
export async function leaveGroup(db: Db, group: string, clientId: string): Promise<void> {
  await db.query({
    name: 'herald_leave_group',
    text: `WITH l AS (DELETE FROM queue_locks WHERE group_name = $1 AND client_id = $2 RETURNING 1),
                m AS (DELETE FROM group_members WHERE group_name = $1 AND client_id = $2 RETURNING 1)
           SELECT notify_group($1)
           FROM (SELECT (SELECT count(*) FROM l) + (SELECT count(*) FROM m) AS n) c`,
    values: [group, clientId],
  });
}
