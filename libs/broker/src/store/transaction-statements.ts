/** Statements of transactional (half) messages; tables in 006_transactions.sql, resolve_halves in sql/functions.sql. */
import { bodiesSql, bodyParams, messageColumns } from './statements';
import type { Db, QueuedMessage } from './statements';
import type { MessageRow } from './rows';

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
  }>({
    name: 'herald_resolve_halves',
    text: 'SELECT transaction_id, status, msg_id, topic, queue_id, queue_offset FROM resolve_halves($1::text[], $2, $3)',
    values: [ids, outcome, by],
  });
  return rows.map((row) => ({
    transactionId: row.transaction_id,
    status: row.status,
    msgId: row.msg_id,
    topic: row.topic,
    queueId: row.queue_id,
    queueOffset: row.queue_offset === null ? null : Number(row.queue_offset),
  }));
}

export interface ClaimedHalf extends MessageRow {
  transaction_id: string;
  checks: number;
}

/** Claims up to `limit` due halves of a group for one member, under a lease. */
export async function claimDueHalves(db: Db, group: string, clientId: string, leaseMs: number, limit: number): Promise<ClaimedHalf[]> {
  const { rows } = await db.query<ClaimedHalf>({
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
  return rows;
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

export interface HalfRow {
  transaction_id: string;
  producer_group: string;
  msg_id: string;
  topic: string;
  state: 'PENDING' | 'PARKED';
  checks: number;
  created_at: Date;
  check_after: Date;
}

export async function listHalves(db: Db, state: 'PENDING' | 'PARKED' | null, group: string | null, limit: number): Promise<HalfRow[]> {
  const { rows } = await db.query<HalfRow>(
    `SELECT transaction_id, producer_group, msg_id, topic, state, checks, created_at, check_after FROM half_messages
     WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR producer_group = $2)
     ORDER BY created_at LIMIT $3`,
    [state, group, limit],
  );
  return rows;
}

export interface TransactionStatsRow {
  producer_group: string;
  pending: string;
  parked: string;
  oldest_pending_ms: number | null;
  checks_performed: string;
  live_members: string;
}

export async function transactionStats(db: Db): Promise<TransactionStatsRow[]> {
  const { rows } = await db.query<TransactionStatsRow>(
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
  return rows;
}

/** Forgets transaction outcomes older than `cutoff` (a batch), and producer members gone for long. */
export async function deleteOldTransactionRecords(db: Db, cutoff: Date, batch: number): Promise<number> {
  const { rows } = await db.query<{ deleted: string }>({
    name: 'herald_delete_old_transaction_records',
    text: `WITH old AS (
             DELETE FROM resolved_transactions WHERE transaction_id IN (
               SELECT transaction_id FROM resolved_transactions WHERE resolved_at < $1 LIMIT $2)
             RETURNING 1
           ), gone_members AS (
             DELETE FROM producer_members WHERE lease_until < $1
           )
           SELECT count(*) AS deleted FROM old`,
    values: [cutoff, batch],
  });
  return Number(rows[0].deleted);
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
 * Which of `msgIds` the broker still holds a copy of, in any topic (original queue, `%RETRY%`,
 * `%DLQ%`) or waiting in the schedule: what a rewind, a retry or a DLQ resend could deliver again.
 * messages has no msg_id index: its copies keep born_at, which the msgId starts with, so the
 * look-up goes through the born_at BRIN index, one range per cluster of nearby born times.
 */
export async function msgIdsStillStored(db: Db, msgIds: readonly string[]): Promise<string[]> {
  const born = [...new Set(msgIds.map((id) => parseInt(id.slice(0, 12), 16)).filter(Number.isFinite))].sort((a, b) => a - b);
  const lo: Date[] = [];
  const hi: Date[] = [];
  for (const ms of born) {
    if (hi.length > 0 && ms - 1_000 <= hi[hi.length - 1].getTime()) hi[hi.length - 1] = new Date(ms + 1_000);
    else {
      lo.push(new Date(ms - 1_000));
      hi.push(new Date(ms + 1_000));
    }
  }
  const { rows } = await db.query<{ msg_id: string }>({
    name: 'herald_msg_ids_still_stored',
    text: `SELECT m.msg_id FROM unnest($2::timestamptz[], $3::timestamptz[]) AS r (lo, hi)
           JOIN messages m ON m.born_at BETWEEN r.lo AND r.hi
           WHERE m.msg_id = ANY ($1::text[])
           UNION SELECT s.msg_id FROM scheduled_messages s WHERE s.msg_id = ANY ($1::text[])`,
    values: [msgIds, lo, hi],
  });
  return rows.map((row) => row.msg_id);
}
