/**
 * The `messages` table: appends (the hot path, group-committed), pulls by queue, bodies,
 * and look-ups by msgId and key. Every statement is one round trip, parameterised and
 * prepared where it runs often, batched over `unnest` arrays; no SQL text is built from input.
 */
import type { OutgoingMessage } from '../message-validation';
import type { StoredMessage } from '../stored-message';
import { messageKey, queueKey } from '../util/keys';
import type { ConfigQueryable, Db } from './db';
import { MESSAGE_COLUMNS, MessageRow, toStoredMessage } from './rows';

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

/**
 * A pulled message with what the pull found out about it. A wrapper, not `{ ...message, matched, cut }`:
 * two object spreads per message cost the drain ~30 % (npm run bench -- --scenarios drain: 108k -> 77k msg/s).
 */
export interface PulledMessage {
  message: StoredMessage;
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
export async function pullMessages(db: Db, requests: readonly PullRequest[]): Promise<PulledMessage[]> {
  const { rows } = await db.query<MessageRow & { matched: boolean; cut: boolean }>({
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
  return rows.map((row) => ({ message: toStoredMessage(row), matched: row.matched, cut: row.cut }));
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

/** Every stored copy of a message; its msgId starts with its born time in ms, which the BRIN index on born_at finds. */
export async function messagesById(db: Db, msgId: string): Promise<StoredMessage[]> {
  const bornAt = new Date(parseInt(msgId.slice(0, 12), 16));
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE msg_id = $1 AND born_at BETWEEN $2::timestamptz - interval '1 second' AND $2::timestamptz + interval '1 second'
     ORDER BY stored_at, topic`,
    [msgId, bornAt],
  );
  return rows.map(toStoredMessage);
}

export async function topicMessages(db: Db, topic: string, limit: number, fromOffset: number): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE topic = $1 AND queue_offset >= $3 ORDER BY queue_id, queue_offset LIMIT $2`,
    [topic, limit, fromOffset],
  );
  return rows.map(toStoredMessage);
}

/** A position in stored-time order, to page from: the last message of the previous page. */
export interface TimeCursor {
  /** PostgreSQL's text form of the stored time: microseconds, which a Date would lose. */
  storedAt: string;
  queueId: number;
  queueOffset: number;
}

/** Messages of a topic (the originals) stored in [from, to), in stored order, after `cursor`; with the cursor of the last. */
export async function messagesByTime(
  db: Db,
  topic: string,
  from: Date,
  to: Date,
  cursor: TimeCursor | null,
  limit: number,
): Promise<{ messages: StoredMessage[]; last: TimeCursor | null }> {
  const { rows } = await db.query<MessageRow & { stored_at_text: string }>(
    `SELECT ${MESSAGE_COLUMNS}, stored_at::text AS stored_at_text FROM messages
     WHERE topic = $1 AND stored_at >= $2 AND stored_at < $3
       AND ($4::timestamptz IS NULL OR (stored_at, queue_id, queue_offset) > ($4::timestamptz, $5::int, $6::bigint))
     ORDER BY stored_at, queue_id, queue_offset LIMIT $7`,
    [topic, from, to, cursor?.storedAt ?? null, cursor?.queueId ?? 0, cursor?.queueOffset ?? 0, limit],
  );
  const tail = rows[rows.length - 1];
  return {
    messages: rows.map(toStoredMessage),
    last: tail === undefined ? null : { storedAt: tail.stored_at_text, queueId: tail.queue_id, queueOffset: Number(tail.queue_offset) },
  };
}

/** Messages of a topic carrying `key`: originals, and their retry and dead-letter copies. */
export async function messagesByKey(db: Db, topic: string, key: string, limit: number): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE keys IS NOT NULL AND keys @> ARRAY[$2::text] AND (topic = $1 OR origin_topic = $1)
     ORDER BY stored_at, topic, queue_id, queue_offset LIMIT $3`,
    [topic, key, limit],
  );
  return rows.map(toStoredMessage);
}

/** Dead letters of a group, all or the given msgIds. */
export async function dlqMessages(db: Db, dlqTopic: string, msgIds: readonly string[] | null): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE topic = $1 AND ($2::text[] IS NULL OR msg_id = ANY ($2::text[]))
     ORDER BY queue_id, queue_offset`,
    [dlqTopic, msgIds],
  );
  return rows.map(toStoredMessage);
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
