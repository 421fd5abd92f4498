/** Consumer groups as a whole: listing them with their figures, deleting one with everything it owns. */
import type { Db } from './db';

export interface GroupRecord {
  group: string;
  model: string;
  createdAt: Date;
  liveMembers: number;
  /** User topics the group holds offsets on. */
  topics: string[];
  /** Messages after the group's offsets still stored, over the queues whose offset is within bounds. */
  lag: number;
  /** Queues whose offset is past their end (a recreated queue): their lag cannot be known. */
  queuesPastEnd: number;
  deadLetters: number;
}

export async function listGroups(db: Db): Promise<GroupRecord[]> {
  const { rows } = await db.query<{
    group_name: string;
    model: string;
    created_at: Date;
    live_members: string;
    topics: string[];
    lag: string;
    past_end: string;
    dead_letters: string;
  }>(
    `SELECT g.group_name, g.model, g.created_at,
            (SELECT count(*) FROM group_members m WHERE m.group_name = g.group_name AND m.lease_until > clock_timestamp()) AS live_members,
            ARRAY(SELECT DISTINCT o.topic FROM consumer_offsets o WHERE o.group_name = g.group_name AND left(o.topic, 1) <> '%' ORDER BY o.topic) AS topics,
            coalesce(p.lag, 0) AS lag, coalesce(p.past_end, 0) AS past_end,
            coalesce((SELECT sum(qu.next_offset - queue_min_offset(qu.topic, qu.queue_id, qu.next_offset)) FROM queues qu
                      WHERE qu.topic = '%DLQ%' || g.group_name), 0) AS dead_letters
     FROM consumer_groups g
     LEFT JOIN LATERAL (
       SELECT sum(qu.next_offset - greatest(o.committed_offset, queue_min_offset(qu.topic, qu.queue_id, qu.next_offset)))
                FILTER (WHERE o.committed_offset <= qu.next_offset) AS lag,
              count(*) FILTER (WHERE o.committed_offset > qu.next_offset) AS past_end
       FROM consumer_offsets o JOIN queues qu ON qu.topic = o.topic AND qu.queue_id = o.queue_id
       WHERE o.group_name = g.group_name
     ) p ON true
     ORDER BY g.group_name`,
  );
  return rows.map((row) => ({
    group: row.group_name,
    model: row.model,
    createdAt: row.created_at,
    liveMembers: Number(row.live_members),
    topics: row.topics,
    lag: Number(row.lag),
    queuesPastEnd: Number(row.past_end),
    deadLetters: Number(row.dead_letters),
  }));
}

/** Live members of a group right now. */
export async function liveMemberCount(db: Db, group: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM group_members WHERE group_name = $1 AND lease_until > clock_timestamp()', [group]);
  return Number(rows[0].n);
}

/**
 * Deletes a group with everything it owns: its offsets (a broadcasting group's members'
 * too, stored as `<group>@<instance>`), locks, members, simple-consumer receipts, and its
 * `%RETRY%` and `%DLQ%` topics with their messages. Returns false if it did not exist.
 */
export async function deleteGroupRows(db: Db, group: string): Promise<boolean> {
  // Data-modifying CTEs run to completion whether or not the final SELECT reads them.
  const { rows } = await db.query<{ deleted: string }>(
    `WITH g AS (DELETE FROM consumer_groups WHERE group_name = $1 RETURNING 1),
          own AS (SELECT unnest(ARRAY['%RETRY%' || $1, '%DLQ%' || $1]) AS topic),
          o AS (DELETE FROM consumer_offsets WHERE group_name = $1 OR left(group_name, length($1) + 1) = $1 || '@' OR topic IN (SELECT topic FROM own)),
          l AS (DELETE FROM queue_locks WHERE group_name = $1 OR topic IN (SELECT topic FROM own)),
          m AS (DELETE FROM group_members WHERE group_name = $1),
          r AS (DELETE FROM pop_receipts WHERE group_name = $1 OR topic IN (SELECT topic FROM own)),
          s AS (DELETE FROM scheduled_messages WHERE topic IN (SELECT topic FROM own)),
          msgs AS (DELETE FROM messages WHERE topic IN (SELECT topic FROM own)),
          q AS (DELETE FROM queues WHERE topic IN (SELECT topic FROM own)),
          t AS (DELETE FROM topics WHERE name IN (SELECT topic FROM own))
     SELECT count(*) AS deleted FROM g`,
    [group],
  );
  return Number(rows[0].deleted) === 1;
}
