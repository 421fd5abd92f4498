/** The `scheduled_messages` table: delayed messages and retries, and the move of due ones into their queues. */
import type { Db } from './db';
import { bodiesSql, bodyParams, messageColumns, QueuedMessage } from './messages';

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

/** Copies of a message waiting in the schedule (retries of some group), soonest first. */
export async function scheduledById(db: Db, msgId: string): Promise<{ topic: string; dueAt: Date; reconsumeTimes: number }[]> {
  const { rows } = await db.query<{ topic: string; due_at: Date; reconsume_times: number }>(
    'SELECT topic, due_at, reconsume_times FROM scheduled_messages WHERE msg_id = $1 ORDER BY due_at',
    [msgId],
  );
  return rows.map((row) => ({ topic: row.topic, dueAt: row.due_at, reconsumeTimes: row.reconsume_times }));
}
