/**
 * Every hot-path statement of the broker, one named function per operation. Each is
 * one round trip, parameterised and prepared (node-postgres caches a named statement
 * per connection), batched over `unnest` arrays. No SQL text is ever built from input.
 */
import type { Pool, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import type { OutgoingMessage } from '../message-validation';
import type { MessageRow } from './rows';
import { messageKey, queueKey } from '../util/keys';

export type Db = Pick<Pool, 'query'>;

/** Anything that runs a parameterised query config: the pool, or the pipelined append connection. */
export interface ConfigQueryable {
  query<R extends QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>>;
}

/** A validated message on its way to the store; `queueId` may still be ANY_QUEUE (see FlushQueueSelector). */
export type QueuedMessage = OutgoingMessage;

export interface AppendResult {
  queueId: number;
  queueOffset: number;
}

/**
 * The bodies of a batch as ONE binary parameter plus 1-based starts and lengths.
 * node-postgres sends a Buffer parameter as binary, while a `bytea[]` goes as hex
 * text: twice the bytes, and past ~512 MiB a string V8 cannot build.
 */
export function bodyParams(messages: readonly { body: Buffer }[]): [Buffer, number[], number[]] {
  const starts: number[] = [];
  let at = 1;
  for (const m of messages) {
    starts.push(at);
    at += m.body.length;
  }
  return [Buffer.concat(messages.map((m) => m.body)), starts, messages.map((m) => m.body.length)];
}

/** SQL that turns `bodyParams` at parameter `$n` back into a `bytea[]` in input order. */
export function bodiesSql(n: number): string {
  return `ARRAY(SELECT substring($${n}::bytea FROM b.s FOR b.l) FROM unnest($${n + 1}::int[], $${n + 2}::int[]) WITH ORDINALITY AS b (s, l, o) ORDER BY b.o)`;
}

/** A message batch as parallel arrays, one per column, by name (bodies apart: see bodyParams). */
export interface MessageColumns {
  topic: string[];
  queueId: number[];
  msgId: string[];
  tag: (string | null | undefined)[];
  /** jsonb text; the statements store it as text[] through keys_from_json() */
  keys: (string | null)[];
  messageGroup: (string | null | undefined)[];
  properties: (string | null)[];
  bornAt: Date[];
  reconsumeTimes: number[];
  originTopic: (string | null | undefined)[];
}

/** The one place a message batch becomes statement parameters; each statement picks its columns by name. */
export function messageColumns(messages: readonly QueuedMessage[]): MessageColumns {
  return {
    topic: messages.map((m) => m.topic),
    queueId: messages.map((m) => m.queueId),
    msgId: messages.map((m) => m.msgId),
    tag: messages.map((m) => m.tag),
    keys: messages.map((m) => (m.keys ? JSON.stringify(m.keys) : null)),
    messageGroup: messages.map((m) => m.messageGroup),
    properties: messages.map((m) => (m.properties ? JSON.stringify(m.properties) : null)),
    bornAt: messages.map((m) => m.bornAt),
    reconsumeTimes: messages.map((m) => m.reconsumeTimes),
    originTopic: messages.map((m) => m.originTopic),
  };
}

/**
 * Appends messages to their queues with gapless offsets; results are in input order.
 * Ranks within each queue and per-queue counts are computed here, so the database
 * only locks, bumps and inserts (append_batch in sql/functions.sql).
 */
export async function appendMessages(db: ConfigQueryable, messages: readonly QueuedMessage[]): Promise<AppendResult[]> {
  const c = messageColumns(messages);
  const counts = new Map<string, { topic: string; queueId: number; n: number }>();
  const ranks = messages.map((m) => {
    const key = queueKey(m.topic, m.queueId);
    let entry = counts.get(key);
    if (!entry) {
      entry = { topic: m.topic, queueId: m.queueId, n: 0 };
      counts.set(key, entry);
    }
    entry.n += 1;
    return entry.n - 1;
  });
  // Sorted as the database locks them: (topic, queue_id).
  const queues = [...counts.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.queueId - b.queueId));
  const { rows } = await db.query<{ topic: string; queue_id: number; base: string }>({
    name: 'herald_append_batch',
    text: `SELECT topic, queue_id, base FROM append_batch($1::text[], $2::int[], $3::int[], $4::text[], $5::int[], $6::int[],
             $7::text[], $8::text[], $9::jsonb[], $10::text[], $11::jsonb[], ${bodiesSql(15)}, $12::timestamptz[], $13::int[], $14::text[])`,
    values: [
      queues.map((q) => q.topic),
      queues.map((q) => q.queueId),
      queues.map((q) => q.n),
      c.topic,
      c.queueId,
      ranks,
      c.msgId,
      c.tag,
      c.keys,
      c.messageGroup,
      c.properties,
      c.bornAt,
      c.reconsumeTimes,
      c.originTopic,
      ...bodyParams(messages),
    ],
  });
  const bases = new Map(rows.map((row) => [queueKey(row.topic, row.queue_id), Number(row.base)]));
  return messages.map((m, i) => ({ queueId: m.queueId, queueOffset: (bases.get(queueKey(m.topic, m.queueId)) ?? Number.NaN) + ranks[i] }));
}

/** Stores messages that become due later (retries); wakes schedulers with the nearest delay. */
export async function scheduleMessages(db: Db, messages: readonly QueuedMessage[]): Promise<void> {
  const c = messageColumns(messages);
  await db.query({
    name: 'herald_schedule_messages',
    text: `WITH ins AS (
             INSERT INTO scheduled_messages (topic, queue_id, msg_id, tag, keys, message_group, properties, body,
                                             born_at, reconsume_times, origin_topic, due_at)
             SELECT u.t, u.q, u.mid, u.tg, keys_from_json(u.ks),
                    u.mg, u.pr, u.bd, u.ba, u.rc, u.ot, clock_timestamp() + u.delay * interval '1 millisecond'
             FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::jsonb[], ${bodiesSql(12)},
                         $8::timestamptz[], $9::int[], $10::text[], $11::bigint[])
               AS u (t, q, mid, tg, ks, mg, pr, bd, ba, rc, ot, delay)
             RETURNING due_at)
           SELECT notify_scheduled(ceil(extract(epoch FROM min(due_at) - clock_timestamp()) * 1000)::bigint) FROM ins`,
    values: [
      c.topic,
      c.queueId,
      c.msgId,
      c.tag,
      c.keys,
      c.messageGroup,
      c.properties,
      c.bornAt,
      c.reconsumeTimes,
      c.originTopic,
      messages.map((m) => m.delayMs),
      ...bodyParams(messages),
    ],
  });
}

export interface DueMove {
  moved: number;
  nextDueInMs: number | null;
}

/** Moves up to `limit` due messages, about `maxBytes` of bodies at most (the first always goes). */
export async function moveDueMessages(db: Db, limit: number, maxBytes: number): Promise<DueMove> {
  const { rows } = await db.query<{ moved: number; next_due_in_ms: number | null }>({
    name: 'herald_move_due_messages',
    text: 'SELECT moved, next_due_in_ms FROM move_due_messages($1, $2)',
    values: [limit, maxBytes],
  });
  return { moved: rows[0].moved, nextDueInMs: rows[0].next_due_in_ms };
}

/** Pushes the oldest due message back by `delayMs` (it keeps failing alone); returns its msgId. */
export async function deferOldestDueMessage(db: Db, delayMs: number): Promise<string | null> {
  const { rows } = await db.query<{ msg_id: string | null }>({
    name: 'herald_defer_oldest_due_message',
    text: 'SELECT defer_oldest_due_message($1) AS msg_id',
    values: [delayMs],
  });
  return rows[0].msg_id;
}

export interface PullRequest {
  topic: string;
  queueId: number;
  fromOffset: number;
  maxMessages: number;
  /** Stop adding rows of this queue once their bodies reach this many bytes (the first row always comes). */
  maxBytes: number;
  /** `TagA||TagB`, or null for every tag. */
  tags: string | null;
  /** False for SQL-filtered queues: bodies are fetched only for rows the filter keeps. */
  withBody: boolean;
}

export interface PulledRow extends MessageRow {
  /** Passed the tag filter (keys and properties are only returned for such rows). */
  matched: boolean;
  /** This row reached the queue's byte budget: rows after it may have been cut (pull again). */
  cut: boolean;
}

/**
 * Reads the next messages of several queues in one round trip. Rows that fail the
 * tag filter come back without body, keys or properties: the consumer only needs
 * their offsets to move past them.
 */
export async function pullMessages(db: Db, requests: readonly PullRequest[]): Promise<PulledRow[]> {
  const { rows } = await db.query<PulledRow>({
    name: 'herald_pull_messages',
    text: `SELECT m.topic, m.queue_id, m.queue_offset, m.msg_id, m.tag, m.message_group, m.born_at, m.stored_at,
                  m.reconsume_times, m.origin_topic, f.ok AS matched, m.run_bytes >= r.max_bytes AS cut,
                  CASE WHEN f.ok THEN m.keys END AS keys,
                  CASE WHEN f.ok THEN m.properties END AS properties,
                  CASE WHEN f.ok AND r.with_body THEN m.body END AS body
           FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[], $5::text[], $6::bool[], $7::bigint[])
                  AS r (topic, queue_id, from_offset, max_n, tags, with_body, max_bytes)
           CROSS JOIN LATERAL (
             -- octet_length reads a toasted body's size from its header, without fetching it
             SELECT w.* FROM (
               SELECT mm.*, sum(octet_length(mm.body)) OVER (ORDER BY mm.queue_offset ROWS UNBOUNDED PRECEDING) AS run_bytes
               FROM messages mm
               WHERE mm.topic = r.topic AND mm.queue_id = r.queue_id AND mm.queue_offset >= r.from_offset
               ORDER BY mm.queue_offset LIMIT r.max_n) w
             WHERE w.run_bytes - octet_length(w.body) < r.max_bytes) m
           CROSS JOIN LATERAL (SELECT (r.tags IS NULL OR coalesce(m.tag = ANY (string_to_array(r.tags, '||')), false)) AS ok) f
           ORDER BY m.topic, m.queue_id, m.queue_offset`,
    values: [
      requests.map((r) => r.topic),
      requests.map((r) => r.queueId),
      requests.map((r) => r.fromOffset),
      requests.map((r) => r.maxMessages),
      requests.map((r) => r.tags),
      requests.map((r) => r.withBody),
      requests.map((r) => r.maxBytes),
    ],
  });
  return rows;
}

/** Bodies of chosen messages (those an SQL filter kept), in one round trip. */
export async function fetchBodies(db: Db, refs: readonly { topic: string; queueId: number; offset: number }[]): Promise<Map<string, Buffer>> {
  const { rows } = await db.query<{ topic: string; queue_id: number; queue_offset: string; body: Buffer }>({
    name: 'herald_fetch_bodies',
    text: `SELECT m.topic, m.queue_id, m.queue_offset, m.body
           FROM unnest($1::text[], $2::int[], $3::bigint[]) AS r (topic, queue_id, queue_offset)
           JOIN messages m ON m.topic = r.topic AND m.queue_id = r.queue_id AND m.queue_offset = r.queue_offset`,
    values: [refs.map((r) => r.topic), refs.map((r) => r.queueId), refs.map((r) => r.offset)],
  });
  return new Map(rows.map((row) => [messageKey(row.topic, row.queue_id, row.queue_offset), row.body]));
}

export interface PoppedRow extends MessageRow {
  receipt: string;
}

/** Hands out messages to a simple (pull) consumer of `group`; see pop_messages in sql/functions.sql. */
export async function popMessages(
  db: Db,
  request: { group: string; topics: string[]; tags: (string | null)[]; max: number; invisibleMs: number; maxReconsumeTimes: number; maxBytes: number },
): Promise<PoppedRow[]> {
  const { rows } = await db.query<PoppedRow>({
    name: 'herald_pop_messages',
    text: `SELECT * FROM pop_messages($1, $2::text[], $3::text[], $4, $5, $6, $7)`,
    values: [request.group, request.topics, request.tags, request.max, request.invisibleMs, request.maxReconsumeTimes, request.maxBytes],
  });
  return rows;
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

/** The database's clock minus `ms`: cutoffs compare with times the database stamped. */
export async function databaseTimeAgo(db: Db, ms: number): Promise<Date> {
  const { rows } = await db.query<{ at: Date }>({ name: 'herald_time_ago', text: "SELECT now() - $1 * interval '1 millisecond' AS at", values: [ms] });
  return rows[0].at;
}

/** One retention pass (a batch per queue); -1 when another runner holds the lock. */
export async function deleteExpiredMessages(db: Db, cutoff: Date, batch: number): Promise<number> {
  const { rows } = await db.query<{ deleted: string }>({
    name: 'herald_delete_expired_messages',
    text: 'SELECT delete_expired_messages($1, $2) AS deleted',
    values: [cutoff, batch],
  });
  return Number(rows[0].deleted);
}
