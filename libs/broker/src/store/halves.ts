/** Transactional (half) messages: `half_messages` (resolve_halves in sql/functions.sql). */
import type { StoredMessage } from '../stored-message';
import type { Db } from './db';
import { bodiesSql, bodyParams, messageColumns, QueuedMessage } from './messages';
import { MessageRow, toStoredMessage } from './rows';

export interface HalfToStore extends QueuedMessage {
  transactionId: string;
  producerGroup: string;
  transactionTimeout: number;
}

/** Stores halves (group-committed) and wakes the group's check-back loops with the nearest due delay. */
export async function insertHalves(db: Db, halves: readonly HalfToStore[]): Promise<void> {
  const c = messageColumns(halves);
  await db.query({
    name: 'herald_insert_halves',
    text: `WITH ins AS (
             INSERT INTO half_messages (transaction_id, producer_group, topic, queue_id, msg_id, tag, keys, message_group,
                                        properties, body, born_at, delay_ms, check_after)
             SELECT u.tx, u.pg, u.t, u.q, u.mid, u.tg, keys_from_json(u.ks), u.mg, u.pr, u.bd, u.ba, u.delay, clock_timestamp() + u.timeout * interval '1 millisecond'
             FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::jsonb[], ${bodiesSql(13)},
                         $8::timestamptz[], $9::text[], $10::text[], $11::bigint[], $12::bigint[])
               AS u (t, q, mid, tg, ks, mg, pr, bd, ba, tx, pg, delay, timeout)
             RETURNING producer_group, check_after)
           SELECT notify_half_due(producer_group, ceil(extract(epoch FROM min(check_after) - clock_timestamp()) * 1000)::bigint)
           FROM ins GROUP BY producer_group`,
    values: [
      // a half has no reconsume count or origin topic
      c.topic,
      c.queueId,
      c.msgId,
      c.tag,
      c.keys,
      c.messageGroup,
      c.properties,
      c.bornAt,
      halves.map((h) => h.transactionId),
      halves.map((h) => h.producerGroup),
      halves.map((h) => h.delayMs),
      halves.map((h) => h.transactionTimeout),
      ...bodyParams(halves),
    ],
  });
}

export type ResolveStatus = 'DONE' | 'ALREADY' | 'CONFLICT' | 'NOT_FOUND';

export interface ResolveResult {
  transactionId: string;
  status: ResolveStatus;
  msgId: string | null;
  topic: string | null;
  queueId: number | null;
  queueOffset: number | null;
  /** Milliseconds the half waited before this resolution (DONE only). */
  halfAgeMs: number | null;
}

/** Commits or rolls back halves in one broker transaction (one round trip for many ids). */
export async function resolveHalves(db: Db, ids: readonly string[], outcome: 'COMMIT' | 'ROLLBACK', by: string): Promise<ResolveResult[]> {
  const { rows } = await db.query<{
    transaction_id: string;
    status: ResolveStatus;
    msg_id: string | null;
    topic: string | null;
    queue_id: number | null;
    queue_offset: string | null;
    half_age_ms: number | null;
  }>({
    name: 'herald_resolve_halves',
    text: 'SELECT transaction_id, status, msg_id, topic, queue_id, queue_offset, half_age_ms FROM resolve_halves($1::text[], $2, $3)',
    values: [ids, outcome, by],
  });
  return rows.map((row) => ({
    transactionId: row.transaction_id,
    status: row.status,
    msgId: row.msg_id,
    topic: row.topic,
    queueId: row.queue_id,
    queueOffset: row.queue_offset === null ? null : Number(row.queue_offset),
    halfAgeMs: row.half_age_ms,
  }));
}

export interface ClaimedHalf extends StoredMessage {
  transactionId: string;
  checks: number;
}

/** Claims up to `limit` due halves of a group for one member, under a lease. */
export async function claimDueHalves(db: Db, group: string, clientId: string, leaseMs: number, limit: number): Promise<ClaimedHalf[]> {
  const { rows } = await db.query<MessageRow & { transaction_id: string; checks: number }>({
    name: 'herald_claim_due_halves',
    text: `UPDATE half_messages h SET claimed_by = $2, claim_until = clock_timestamp() + $3 * interval '1 millisecond'
           WHERE h.transaction_id IN (
             SELECT x.transaction_id FROM half_messages x
             WHERE x.producer_group = $1 AND x.state = 'PENDING' AND x.check_after <= clock_timestamp()
               AND (x.claim_until IS NULL OR x.claim_until < clock_timestamp())
             ORDER BY x.check_after LIMIT $4 FOR UPDATE SKIP LOCKED)
           RETURNING h.transaction_id, h.checks, h.topic, h.queue_id, -1::bigint AS queue_offset, h.msg_id, h.tag, h.keys,
                     h.message_group, h.properties, h.body, h.born_at, h.created_at AS stored_at, 0 AS reconsume_times,
                     NULL::text AS origin_topic`,
    values: [group, clientId, leaseMs, limit],
  });
  return rows.map((row) => ({ ...toStoredMessage(row), transactionId: row.transaction_id, checks: row.checks }));
}

/** Records inconclusive checks (UNKNOWN, error, timeout): check again later, or park after `maxChecks`. */
export async function recordInconclusiveChecks(db: Db, ids: readonly string[], clientId: string, checkIntervalMs: number, maxChecks: number): Promise<void> {
  await db.query({
    name: 'herald_record_checks',
    text: `UPDATE half_messages SET checks = checks + 1, claimed_by = NULL, claim_until = NULL,
             check_after = clock_timestamp() + $3 * interval '1 millisecond',
             state = CASE WHEN checks + 1 >= $4 THEN 'PARKED' ELSE 'PENDING' END
           WHERE transaction_id = ANY ($1::text[]) AND claimed_by = $2`,
    values: [ids, clientId, checkIntervalMs, maxChecks],
  });
}

/** Milliseconds until the group's next half is due (null when none is pending). */
export async function nextHalfDue(db: Db, group: string): Promise<number | null> {
  const { rows } = await db.query<{ ms: number | null }>({
    name: 'herald_next_half_due',
    text: `SELECT (extract(epoch FROM min(greatest(check_after, coalesce(claim_until, check_after))) - clock_timestamp()) * 1000)::double precision AS ms
           FROM half_messages WHERE producer_group = $1 AND state = 'PENDING'`,
    values: [group],
  });
  return rows[0]?.ms ?? null;
}

export interface HalfRecord {
  transactionId: string;
  producerGroup: string;
  msgId: string;
  topic: string;
  state: 'PENDING' | 'PARKED';
  checks: number;
  createdAt: Date;
  checkAfter: Date;
}

/** Open halves, oldest first. */
export async function listHalves(db: Db, state: 'PENDING' | 'PARKED' | null, group: string | null, limit: number): Promise<HalfRecord[]> {
  const { rows } = await db.query<{
    transaction_id: string;
    producer_group: string;
    msg_id: string;
    topic: string;
    state: 'PENDING' | 'PARKED';
    checks: number;
    created_at: Date;
    check_after: Date;
  }>(
    `SELECT transaction_id, producer_group, msg_id, topic, state, checks, created_at, check_after FROM half_messages
     WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR producer_group = $2)
     ORDER BY created_at LIMIT $3`,
    [state, group, limit],
  );
  return rows.map((row) => ({
    transactionId: row.transaction_id,
    producerGroup: row.producer_group,
    msgId: row.msg_id,
    topic: row.topic,
    state: row.state,
    checks: row.checks,
    createdAt: row.created_at,
    checkAfter: row.check_after,
  }));
}

export interface TransactionStatsRecord {
  producerGroup: string;
  pending: number;
  parked: number;
  oldestPendingMs: number | null;
  checksPerformed: number;
  liveMembers: number;
}

/** Per producer group: open halves by state, the oldest pending one's age, checks, live members. */
export async function transactionStats(db: Db): Promise<TransactionStatsRecord[]> {
  const { rows } = await db.query<{
    producer_group: string;
    pending: string;
    parked: string;
    oldest_pending_ms: number | null;
    checks_performed: string;
    live_members: string;
  }>(
    `SELECT g.producer_group,
            (SELECT count(*) FROM half_messages h WHERE h.producer_group = g.producer_group AND h.state = 'PENDING') AS pending,
            (SELECT count(*) FROM half_messages h WHERE h.producer_group = g.producer_group AND h.state = 'PARKED') AS parked,
            (SELECT (extract(epoch FROM clock_timestamp() - min(h.created_at)) * 1000)::double precision FROM half_messages h
             WHERE h.producer_group = g.producer_group AND h.state = 'PENDING') AS oldest_pending_ms,
            g.checks_performed,
            (SELECT count(*) FROM producer_members m WHERE m.producer_group = g.producer_group AND m.lease_until > clock_timestamp()) AS live_members
     FROM (SELECT producer_group, checks_performed FROM producer_groups
           UNION SELECT DISTINCT producer_group, 0 FROM half_messages h
           WHERE NOT EXISTS (SELECT 1 FROM producer_groups p WHERE p.producer_group = h.producer_group)) g
     ORDER BY g.producer_group`,
  );
  return rows.map((row) => ({
    producerGroup: row.producer_group,
    pending: Number(row.pending),
    parked: Number(row.parked),
    oldestPendingMs: row.oldest_pending_ms,
    checksPerformed: Number(row.checks_performed),
    liveMembers: Number(row.live_members),
  }));
}

/** Which of `ids` still have a half, pending or parked (by primary key). */
export async function halvesStillOpen(db: Db, ids: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ transaction_id: string }>({
    name: 'herald_halves_still_open',
    text: 'SELECT transaction_id FROM half_messages WHERE transaction_id = ANY ($1::text[])',
    values: [ids],
  });
  return rows.map((row) => row.transaction_id);
}

/**
 * Puts a parked half back to pending with its checks reset, due now, and wakes its group's
 * check-back loops. Returns false when no parked half has that id.
 */
export async function recheckHalf(db: Db, transactionId: string): Promise<boolean> {
  const { rows } = await db.query<{ producer_group: string }>(
    `WITH back AS (
       UPDATE half_messages SET state = 'PENDING', checks = 0, check_after = clock_timestamp(), claimed_by = NULL, claim_until = NULL
       WHERE transaction_id = $1 AND state = 'PARKED'
       RETURNING producer_group
     )
     SELECT producer_group, notify_half_due(producer_group, 0) FROM back`,
    [transactionId],
  );
  return rows.length === 1;
}
