/** The `throughput_samples` table: positions of topics and groups over time, for rates. */
import type { Db } from './db';

/**
 * Records one sample of every topic's appended total and every group's consumed total, unless
 * another instance did within `minGapMs` (the transaction-scoped advisory lock keeps two
 * samplers from writing at once); deletes samples older than `keepMs`. True when it sampled.
 */
export async function sampleThroughput(db: Db, minGapMs: number, keepMs: number): Promise<boolean> {
  const { rows } = await db.query<{ sampled: boolean }>(
    `WITH go AS (
       SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.throughput')) AS locked
     ), due AS (
       -- one time for the whole sample, so in and out rates share their span
       SELECT clock_timestamp() AS at FROM go WHERE go.locked AND NOT EXISTS (
         SELECT 1 FROM throughput_samples s WHERE s.at > clock_timestamp() - $1 * interval '1 millisecond')
     ), ins AS (
       INSERT INTO throughput_samples (at, kind, topic, group_name, total)
       SELECT due.at, 'in', q.topic, '', sum(q.next_offset) FROM queues q, due
       WHERE left(q.topic, 1) <> '%' GROUP BY due.at, q.topic
       UNION ALL
       SELECT due.at, 'out', o.topic, o.group_name, sum(o.committed_offset) FROM consumer_offsets o, due
       WHERE left(o.topic, 1) <> '%' GROUP BY due.at, o.topic, o.group_name
       RETURNING 1
     ), old AS (
       DELETE FROM throughput_samples WHERE at < clock_timestamp() - $2 * interval '1 millisecond' AND EXISTS (SELECT 1 FROM due)
     )
     SELECT EXISTS (SELECT 1 FROM due) AS sampled`,
    [minGapMs, keepMs],
  );
  return rows[0].sampled;
}

export interface RateRecord {
  kind: 'in' | 'out';
  topic: string;
  group: string;
  /** Messages between the oldest and newest sample in the window. */
  delta: number;
  /** Milliseconds between them; null when there is only one sample in the window. */
  spanMs: number | null;
  /** The total went down between two samples (an offset reset, a recreated topic). */
  wentBack: boolean;
}

/** Per series: the change from its oldest to its newest sample within `windowMs` before the newest sample taken. */
export async function throughputRates(db: Db, windowMs: number): Promise<RateRecord[]> {
  const { rows } = await db.query<{ kind: 'in' | 'out'; topic: string; group_name: string; delta: string; span_ms: number | null; went_back: boolean }>(
    `WITH latest AS (SELECT max(at) AS at FROM throughput_samples),
     ordered AS (
       SELECT s.kind, s.topic, s.group_name, s.at, s.total,
              s.total - lag(s.total) OVER (PARTITION BY s.kind, s.topic, s.group_name ORDER BY s.at) AS step
       FROM throughput_samples s, latest
       WHERE s.at >= latest.at - $1 * interval '1 millisecond'
     )
     SELECT kind, topic, group_name,
            (array_agg(total ORDER BY at DESC))[1] - (array_agg(total ORDER BY at))[1] AS delta,
            CASE WHEN count(*) > 1 THEN extract(epoch FROM max(at) - min(at)) * 1000 END AS span_ms,
            coalesce(bool_or(step < 0), false) AS went_back
     FROM ordered GROUP BY kind, topic, group_name ORDER BY kind, topic, group_name`,
    [windowMs],
  );
  return rows.map((row) => ({
    kind: row.kind,
    topic: row.topic,
    group: row.group_name,
    delta: Number(row.delta),
    spanMs: row.span_ms === null ? null : Number(row.span_ms),
    wentBack: row.went_back,
  }));
}
