/** Statements of admin and control-plane operations (not on the hot path). */
import type { Pool } from 'pg';
import type { Db } from './statements';
import type { MessageRow } from './rows';

const MESSAGE_COLUMNS = `topic, queue_id, queue_offset, msg_id, tag, keys, message_group, properties, body, born_at, stored_at,
            reconsume_times, origin_topic`;

/** Creates a topic with its queues; returns the queue count the topic has afterwards. */
export async function insertTopic(db: Db, name: string, queues: number): Promise<{ created: boolean; queues: number }> {
  const { rows } = await db.query<{ created: string; existing: number | null }>(
    `WITH t AS (INSERT INTO topics (name, queues) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name, queues),
          q AS (INSERT INTO queues (topic, queue_id) SELECT t.name, g FROM t, generate_series(0, t.queues - 1) AS g)
     SELECT (SELECT count(*) FROM t) AS created, (SELECT queues FROM topics WHERE name = $1) AS existing`,
    [name, queues],
  );
  if (Number(rows[0].created) === 1) return { created: true, queues };
  // Lost a race with a concurrent creator: its row was not in this statement's snapshot.
  const existing = rows[0].existing ?? (await topicQueueCount(db, name));
  return { created: false, queues: existing ?? queues };
}

export async function topicQueueCount(db: Db, name: string): Promise<number | null> {
  const { rows } = await db.query<{ queues: number }>({
    name: 'herald_topic_queue_count',
    text: 'SELECT queues FROM topics WHERE name = $1',
    values: [name],
  });
  return rows[0]?.queues ?? null;
}

export async function topicQueueCounts(db: Db, names: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ name: string; queues: number }>({
    name: 'herald_topic_queue_counts',
    text: 'SELECT name, queues FROM topics WHERE name = ANY ($1::text[])',
    values: [names],
  });
  return new Map(rows.map((row) => [row.name, row.queues]));
}

/** Removes a topic with its messages, pending retries, offsets and locks. */
export async function deleteTopicRows(db: Db, name: string): Promise<boolean> {
  // Data-modifying CTEs run to completion whether or not the final SELECT reads them.
  const { rows } = await db.query<{ deleted: string }>(
    `WITH t AS (DELETE FROM topics WHERE name = $1 RETURNING 1),
          m AS (DELETE FROM messages WHERE topic = $1),
          s AS (DELETE FROM scheduled_messages WHERE topic = $1),
          o AS (DELETE FROM consumer_offsets WHERE topic = $1),
          l AS (DELETE FROM queue_locks WHERE topic = $1)
     SELECT count(*) AS deleted FROM t`,
    [name],
  );
  return Number(rows[0].deleted) === 1;
}

export async function registerGroup(db: Db, group: string, model: string): Promise<void> {
  await db.query('INSERT INTO consumer_groups (group_name, model) VALUES ($1, $2) ON CONFLICT (group_name) DO NOTHING', [group, model]);
}

export async function groupExists(db: Db, group: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM consumer_groups WHERE group_name = $1', [group]);
  return rows.length > 0;
}

export interface QueueStatRow {
  topic: string;
  queue_id: number;
  min_offset: string;
  next_offset: string;
}

export async function listQueues(db: Db): Promise<QueueStatRow[]> {
  const { rows } = await db.query<QueueStatRow>(
    `SELECT topic, queue_id, queue_min_offset(topic, queue_id, next_offset) AS min_offset, next_offset
     FROM queues ORDER BY topic, queue_id`,
  );
  return rows;
}

export interface ProgressRow {
  topic: string;
  queue_id: number;
  next_offset: string;
  committed_offset: string;
  client_id: string | null;
}

export async function groupProgress(db: Db, group: string): Promise<ProgressRow[]> {
  const { rows } = await db.query<ProgressRow>(
    `SELECT o.topic, o.queue_id, qu.next_offset, o.committed_offset, l.client_id
     FROM consumer_offsets o
     JOIN queues qu ON qu.topic = o.topic AND qu.queue_id = o.queue_id
     LEFT JOIN queue_locks l ON l.group_name = o.group_name AND l.topic = o.topic AND l.queue_id = o.queue_id
                             AND l.lease_until > clock_timestamp()
     WHERE o.group_name = $1 ORDER BY o.topic, o.queue_id`,
    [group],
  );
  return rows;
}

export interface MemberRow {
  client_id: string;
  host: string;
  pid: number;
  started_at: Date;
  heartbeat_at: Date;
  queues: { topic: string; queueId: number }[];
}

export async function groupMembers(db: Db, group: string): Promise<MemberRow[]> {
  const { rows } = await db.query<MemberRow>(
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
  return rows;
}

/** Every stored copy of a message; its msgId starts with its born time in ms, which the BRIN index on born_at finds. */
export async function messagesById(db: Db, msgId: string): Promise<MessageRow[]> {
  const bornAt = new Date(parseInt(msgId.slice(0, 12), 16));
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE msg_id = $1 AND born_at BETWEEN $2::timestamptz - interval '1 second' AND $2::timestamptz + interval '1 second'
     ORDER BY stored_at, topic`,
    [msgId, bornAt],
  );
  return rows;
}

/** Per group that holds an offset on the queue: has that group consumed past the offset? */
export async function consumedBy(db: Db, topic: string, queueId: number, offset: number): Promise<{ group_name: string; consumed: boolean }[]> {
  const { rows } = await db.query<{ group_name: string; consumed: boolean }>(
    `SELECT group_name, committed_offset > $3 AS consumed FROM consumer_offsets
     WHERE topic = $1 AND queue_id = $2 ORDER BY group_name`,
    [topic, queueId, offset],
  );
  return rows;
}

export async function scheduledById(db: Db, msgId: string): Promise<{ topic: string; due_at: Date; reconsume_times: number }[]> {
  const { rows } = await db.query<{ topic: string; due_at: Date; reconsume_times: number }>(
    'SELECT topic, due_at, reconsume_times FROM scheduled_messages WHERE msg_id = $1 ORDER BY due_at',
    [msgId],
  );
  return rows;
}

export async function topicMessages(db: Db, topic: string, limit: number, fromOffset: number): Promise<MessageRow[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE topic = $1 AND queue_offset >= $3 ORDER BY queue_id, queue_offset LIMIT $2`,
    [topic, limit, fromOffset],
  );
  return rows;
}

/** Messages of a topic carrying `key`: originals, and their retry and dead-letter copies. */
export async function messagesByKey(db: Db, topic: string, key: string, limit: number): Promise<MessageRow[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE keys IS NOT NULL AND keys @> ARRAY[$2::text] AND (topic = $1 OR origin_topic = $1)
     ORDER BY stored_at, topic, queue_id, queue_offset LIMIT $3`,
    [topic, key, limit],
  );
  return rows;
}

/** Dead letters of a group, all or the given msgIds. */
export async function dlqMessages(db: Db, dlqTopic: string, msgIds: readonly string[] | null): Promise<MessageRow[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE topic = $1 AND ($2::text[] IS NULL OR msg_id = ANY ($2::text[]))
     ORDER BY queue_id, queue_offset`,
    [dlqTopic, msgIds],
  );
  return rows;
}

/**
 * Points a group at the first message of each queue of `topic` stored at or after
 * `timestamp`, and takes the queues' locks away, so members reload the offsets
 * (without a restart) on their next rebalance, which the notification triggers.
 * The locks go first, in their own statement: an offset commit holds them FOR
 * SHARE, so it either finishes before the reset writes offsets or finds no lock.
 */
export async function resetGroupOffsets(pool: Pool, group: string, topic: string, timestamp: Date): Promise<{ queue_id: number; committed_offset: string }[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('DELETE FROM queue_locks WHERE group_name = $1 AND topic = $2', [group, topic]);
    const { rows } = await client.query<{ queue_id: number; committed_offset: string }>(
      `WITH target AS (
         SELECT qu.queue_id,
                coalesce((SELECT min(m.queue_offset) FROM messages m
                          WHERE m.topic = qu.topic AND m.queue_id = qu.queue_id AND m.stored_at >= $3), qu.next_offset) AS off
         FROM queues qu WHERE qu.topic = $2
       ), up AS (
         INSERT INTO consumer_offsets AS o (group_name, topic, queue_id, committed_offset, updated_at)
         SELECT $1, $2, queue_id, off, now() FROM target
         ON CONFLICT (group_name, topic, queue_id) DO UPDATE SET committed_offset = excluded.committed_offset, updated_at = now()
         RETURNING o.queue_id, o.committed_offset
       )
       SELECT up.queue_id, up.committed_offset FROM up ORDER BY up.queue_id`,
      [group, topic, timestamp],
    );
    await client.query('SELECT notify_group($1)', [group]);
    await client.query('COMMIT');
    return rows;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
