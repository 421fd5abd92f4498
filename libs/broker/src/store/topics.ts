/** The `topics` and `queues` tables. */
import type { Db } from './db';

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

export interface QueueRecord {
  topic: string;
  queueId: number;
  minOffset: number;
  nextOffset: number;
}

/** Every queue with its first stored and next offsets. */
export async function listQueues(db: Db): Promise<QueueRecord[]> {
  const { rows } = await db.query<{ topic: string; queue_id: number; min_offset: string; next_offset: string }>(
    `SELECT topic, queue_id, queue_min_offset(topic, queue_id, next_offset) AS min_offset, next_offset
     FROM queues ORDER BY topic, queue_id`,
  );
  return rows.map((row) => ({ topic: row.topic, queueId: row.queue_id, minOffset: Number(row.min_offset), nextOffset: Number(row.next_offset) }));
}
