/** Who is in which group: `consumer_groups`, `group_members`, `queue_locks` (queue leases) and `producer_members`. */
import type { Db } from './db';
import type { QueueRef } from './offsets';

export async function registerGroup(db: Db, group: string, model: string): Promise<void> {
  await db.query('INSERT INTO consumer_groups (group_name, model) VALUES ($1, $2) ON CONFLICT (group_name) DO NOTHING', [group, model]);
}

export async function groupExists(db: Db, group: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM consumer_groups WHERE group_name = $1', [group]);
  return rows.length > 0;
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

export interface MemberRecord {
  clientId: string;
  host: string;
  pid: number;
  startedAt: Date;
  heartbeatAt: Date;
  queues: QueueRef[];
}

/** A group's live members with the queues each holds a lease on. */
export async function groupMembers(db: Db, group: string): Promise<MemberRecord[]> {
  const { rows } = await db.query<{ client_id: string; host: string; pid: number; started_at: Date; heartbeat_at: Date; queues: QueueRef[] }>(
    `SELECT m.client_id, m.host, m.pid, m.started_at, m.heartbeat_at,
            coalesce((SELECT jsonb_agg(jsonb_build_object('topic', l.topic, 'queueId', l.queue_id) ORDER BY l.topic, l.queue_id)
                      FROM queue_locks l
                      WHERE l.group_name = m.group_name AND l.client_id = m.client_id AND l.lease_until > clock_timestamp()),
                     '[]'::jsonb) AS queues
     FROM group_members m
     WHERE m.group_name = $1 AND m.lease_until > clock_timestamp()
     ORDER BY m.client_id`,
    [group],
  );
  return rows.map((row) => ({
    clientId: row.client_id,
    host: row.host,
    pid: row.pid,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    queues: row.queues,
  }));
}

/** Renews a transaction producer's membership; counts the checks it performed since the last call. */
export async function producerHeartbeat(db: Db, group: string, clientId: string, leaseMs: number, checks: number): Promise<void> {
  await db.query({
    name: 'herald_producer_heartbeat',
    text: `WITH member AS (
             INSERT INTO producer_members (producer_group, client_id, lease_until)
             VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
             ON CONFLICT (producer_group, client_id) DO UPDATE SET lease_until = excluded.lease_until
           )
           INSERT INTO producer_groups (producer_group, checks_performed) VALUES ($1, $4)
           ON CONFLICT (producer_group) DO UPDATE SET checks_performed = producer_groups.checks_performed + excluded.checks_performed`,
    values: [group, clientId, leaseMs, checks],
  });
}

export async function leaveProducerGroup(db: Db, group: string, clientId: string): Promise<void> {
  await db.query({
    name: 'herald_leave_producer_group',
    text: `WITH released AS (
             UPDATE half_messages SET claimed_by = NULL, claim_until = NULL WHERE producer_group = $1 AND claimed_by = $2
           )
           DELETE FROM producer_members WHERE producer_group = $1 AND client_id = $2`,
    values: [group, clientId],
  });
}
