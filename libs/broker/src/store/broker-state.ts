/** What the broker-state gauges show, read in one round trip at scrape time. */
import type { Db } from './db';

export interface GroupLag {
  /** A broadcasting member's offsets (`<group>@<instance>`) count under their group. */
  group: string;
  topic: string;
  /** Stored after the group's committed offsets: what the group has still to consume. */
  lag: number;
  /** Of those, what no simple consumer of the group holds invisible right now. */
  ready: number;
  /** Seconds since the oldest message the group has still to consume was stored (0 when none). */
  lagSeconds: number;
}

export interface BrokerState {
  lags: GroupLag[];
  halves: { topic: string; producerGroup: string; state: 'PENDING' | 'PARKED'; count: number }[];
  /** Messages in each group's `%DLQ%<group>` topic. */
  deadLetters: { group: string; count: number }[];
  /** Live members of each push-consumer group (simple consumers have none). */
  members: { group: string; count: number }[];
}

/**
 * One statement for every gauge: per group and topic the lag (summed over queues; for a
 * broadcasting group, the largest of its members'), the age of the oldest unconsumed
 * message, ready messages; open halves by state; DLQ sizes. Retry and DLQ topics fold:
 * `%RETRY%<g>` lag counts under its group with topic `%RETRY%`, and DLQ topics are not lag.
 */
export async function readBrokerState(db: Db): Promise<BrokerState> {
  const { rows } = await db.query<{
    kind: 'lag' | 'half' | 'dlq' | 'members';
    a: string;
    b: string | null;
    c: string | null;
    n: string;
    m: string | null;
    s: number | null;
  }>({
    name: 'herald_broker_state',
    text: `WITH per_queue AS (
             SELECT split_part(o.group_name, '@', 1) AS grp, o.group_name AS member,
                    CASE WHEN o.topic LIKE '\\%RETRY\\%%' THEN '%RETRY%' ELSE o.topic END AS topic,
                    greatest(qu.next_offset - greatest(o.committed_offset, queue_min_offset(qu.topic, qu.queue_id, qu.next_offset)), 0) AS lag,
                    (SELECT count(*) FROM pop_receipts r WHERE r.group_name = o.group_name AND r.topic = o.topic AND r.queue_id = o.queue_id
                       AND r.invisible_until > clock_timestamp()) AS held,
                    (SELECT m.stored_at FROM messages m WHERE m.topic = o.topic AND m.queue_id = o.queue_id
                       AND m.queue_offset >= o.committed_offset ORDER BY m.queue_offset LIMIT 1) AS oldest
             FROM consumer_offsets o JOIN queues qu ON qu.topic = o.topic AND qu.queue_id = o.queue_id
             WHERE o.topic NOT LIKE '\\%DLQ\\%%'
           ), per_member AS (
             SELECT grp, member, topic, sum(lag) AS lag, sum(greatest(lag - held, 0)) AS ready, min(oldest) AS oldest
             FROM per_queue GROUP BY grp, member, topic
           )
           SELECT 'lag' AS kind, grp AS a, topic AS b, NULL AS c, max(lag)::text AS n, max(ready)::text AS m,
                  coalesce(extract(epoch FROM clock_timestamp() - min(oldest)), 0)::double precision AS s
           FROM per_member GROUP BY grp, topic
           UNION ALL
           SELECT 'half', producer_group, state, topic, count(*)::text, NULL, NULL FROM half_messages GROUP BY producer_group, state, topic
           UNION ALL
           SELECT 'dlq', substr(qu.topic, 6), NULL, NULL, sum(qu.next_offset - queue_min_offset(qu.topic, qu.queue_id, qu.next_offset))::text, NULL, NULL
           FROM queues qu WHERE qu.topic LIKE '\\%DLQ\\%%' GROUP BY qu.topic
           UNION ALL
           SELECT 'members', g.group_name, NULL, NULL,
                  (SELECT count(*) FROM group_members m WHERE m.group_name = g.group_name AND m.lease_until > clock_timestamp())::text, NULL, NULL
           FROM consumer_groups g WHERE g.model <> 'SIMPLE'`,
  });
  const state: BrokerState = { lags: [], halves: [], deadLetters: [], members: [] };
  for (const row of rows) {
    if (row.kind === 'lag') {
      state.lags.push({ group: row.a, topic: row.b ?? '', lag: Number(row.n), ready: Number(row.m ?? 0), lagSeconds: Number(row.s ?? 0) });
    } else if (row.kind === 'half') {
      state.halves.push({ topic: row.c ?? '', producerGroup: row.a, state: row.b === 'PARKED' ? 'PARKED' : 'PENDING', count: Number(row.n) });
    } else if (row.kind === 'members') {
      state.members.push({ group: row.a, count: Number(row.n) });
    } else {
      state.deadLetters.push({ group: row.a, count: Number(row.n) });
    }
  }
  return state;
}
