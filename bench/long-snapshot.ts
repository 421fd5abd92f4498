import { Client } from 'pg';
import type { BenchMessage, BrokerDatabase, QueueSystem } from './systems/system';

/**
 * The "long snapshot" scenario (Herald only): single sends from 32 callers for a
 * fixed window, once as a baseline and once while another session on the broker's
 * database holds a REPEATABLE READ snapshot open for the whole window. PostgreSQL
 * cannot remove a row version that snapshot might still see, so every bump of a
 * queue's `next_offset` leaves one more version of that row behind for the
 * appenders to step over. See bench/README.md, "Long snapshots".
 */
export interface LongSnapshotSizes {
  /** How long each of the two windows sends, ms. */
  windowMs: number;
  /** Width of the throughput slices reported inside a window, ms. */
  sliceMs: number;
}

/** `herald.queues` as PostgreSQL sees it at the end of a window. */
export interface QueueTableStats {
  /** Row updates during the window and its closing marker send (pg_stat_user_tables.n_tup_upd, difference). */
  updates: number;
  /** Of those, heap-only (HOT) updates: no new index entry. */
  hotUpdates: number;
  /** pg_stat_user_tables.n_dead_tup at the end (an estimate kept by the statistics system). */
  deadTuples: number;
  /** pgstattuple's exact count of dead tuples, or null where the extension is not available. */
  exactDeadTuples: number | null;
  /** Live rows (every topic's queues, not only the scenario's). */
  liveTuples: number;
  heapPages: number;
  /** Pages of the primary key index. */
  indexPages: number;
}

export interface WindowRun {
  /** Messages/s over the whole window. */
  rate: number;
  /** Messages/s in each slice of `sliceMs`, in order. */
  slices: number[];
  queues: QueueTableStats;
}

export interface LongSnapshotResult {
  windowMs: number;
  sliceMs: number;
  baseline: WindowRun;
  held: WindowRun;
  /** held.rate / baseline.rate. */
  ratio: number;
  /** age(backend_xmin) of the session holding the snapshot, just before it let go: transaction ids started since. */
  holderXminAge: number;
  /** How long the holder's transaction had been open, s. */
  holderSeconds: number;
}

const CALLERS = 32;

/** Runs both windows on fresh topics; null for a system without a broker database to probe. */
export async function longSnapshot(system: QueueSystem, run: string, sizes: LongSnapshotSizes): Promise<LongSnapshotResult | null> {
  const database = system.brokerDatabase;
  if (!database) return null;
  const probe = new QueueTableProbe(database);
  await probe.open();
  try {
    const baseline = await sendWindow(system, `${run}-base`, sizes, probe);
    const holder = await SnapshotHolder.open(database);
    let held: WindowRun;
    let age: { xminAge: number; seconds: number };
    try {
      held = await sendWindow(system, `${run}-held`, sizes, probe);
      age = await probe.holderAge(holder.pid);
    } finally {
      await holder.release();
    }
    // The versions the snapshot pinned are removable now: clear them so later scenarios start clean.
    await probe.vacuum();
    return {
      windowMs: sizes.windowMs,
      sliceMs: sizes.sliceMs,
      baseline,
      held,
      ratio: held.rate / baseline.rate,
      holderXminAge: age.xminAge,
      holderSeconds: age.seconds,
    };
  } finally {
    await probe.close();
  }
}

/** 32 callers send one message at a time until the window closes; completions are counted per slice. */
async function sendWindow(system: QueueSystem, run: string, { windowMs, sliceMs }: LongSnapshotSizes, probe: QueueTableProbe): Promise<WindowRun> {
  await probe.vacuum();
  await system.prepare(run);
  const before = await reportedCounters(system, probe);
  const slices = new Array<number>(Math.ceil(windowMs / sliceMs)).fill(0);
  let seq = 0;
  const started = performance.now();
  const end = started + windowMs;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < end) {
        seq += 1;
        const message: BenchMessage = { sentAt: performance.now(), seq };
        await system.sendOne(message);
        const slice = Math.floor((performance.now() - started) / sliceMs);
        if (slice < slices.length) slices[slice] += 1;
      }
    }),
  );
  const sent = slices.reduce((n, s) => n + s, 0);
  const after = await reportedCounters(system, probe);
  const stats = await probe.tableStats();
  await system.cleanUp();
  return {
    rate: sent / (windowMs / 1000),
    slices: slices.map((n) => n / (sliceMs / 1000)),
    queues: { ...stats, updates: after.updates - before.updates, hotUpdates: after.hotUpdates - before.hotUpdates },
  };
}

/**
 * The queue table's update counters with everything sent so far included. A backend
 * reports table statistics when it goes idle, at most once a second; when it went
 * idle within a second of its last report it waits PGSTAT_IDLE_INTERVAL (10 s). So
 * wait a second, then send one marker message: the append session reports on
 * going idle after it, and a short poll sees that report.
 */
async function reportedCounters(system: QueueSystem, probe: QueueTableProbe): Promise<{ updates: number; hotUpdates: number }> {
  await pause(1_100);
  const last = await probe.counters();
  await system.sendOne({ sentAt: performance.now(), seq: -1 });
  return probe.changedCounters(last);
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A session that takes a REPEATABLE READ snapshot on the broker's database and keeps its transaction open. */
class SnapshotHolder {
  private constructor(
    private readonly client: Client,
    readonly pid: number,
  ) {}

  static async open(database: BrokerDatabase): Promise<SnapshotHolder> {
    const client = new Client({ connectionString: database.url, application_name: 'bench:snapshot-holder' });
    await client.connect();
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    // The first statement takes the snapshot; it is kept until the transaction ends.
    await client.query(`SELECT 1 FROM ${qualified(database, 'topics')} LIMIT 1`);
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return new SnapshotHolder(client, rows[0].pid);
  }

  async release(): Promise<void> {
    try {
      await this.client.query('ROLLBACK');
    } finally {
      await this.client.end();
    }
  }
}

/** Reads what PostgreSQL knows about the broker's queue table. */
class QueueTableProbe {
  private readonly client: Client;
  private pgstattuple = false;

  constructor(private readonly database: BrokerDatabase) {
    this.client = new Client({ connectionString: database.url, application_name: 'bench:probe' });
  }

  async open(): Promise<void> {
    await this.client.connect();
    // Exact dead-tuple counts where the extension can be had (it ships with PostgreSQL; creating it needs rights).
    this.pgstattuple = await this.client.query('CREATE EXTENSION IF NOT EXISTS pgstattuple').then(
      () => true,
      () => false,
    );
  }

  close(): Promise<void> {
    return this.client.end();
  }

  vacuum(): Promise<unknown> {
    return this.client.query(`VACUUM ${qualified(this.database, 'queues')}`);
  }

  /** Polls until the update counter moves past `last` (at most 3 s: then it returns what it has). */
  async changedCounters(last: { updates: number }): Promise<{ updates: number; hotUpdates: number }> {
    const deadline = performance.now() + 3_000;
    let next = await this.counters();
    while (next.updates === last.updates && performance.now() < deadline) {
      await pause(50);
      next = await this.counters();
    }
    return next;
  }

  async counters(): Promise<{ updates: number; hotUpdates: number }> {
    await this.client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await this.client.query<{ upd: string; hot: string }>(
      'SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relid = to_regclass($1)',
      [qualified(this.database, 'queues')],
    );
    return { updates: Number(rows[0]?.upd ?? 0), hotUpdates: Number(rows[0]?.hot ?? 0) };
  }

  async tableStats(): Promise<Omit<QueueTableStats, 'updates' | 'hotUpdates'>> {
    const table = qualified(this.database, 'queues');
    const { rows } = await this.client.query<{ dead: string; live: string; heap: string; idx: string }>(
      `SELECT s.n_dead_tup AS dead, s.n_live_tup AS live,
              pg_relation_size($1::regclass) / current_setting('block_size')::int AS heap,
              pg_relation_size(($2 || '.queues_pkey')::regclass) / current_setting('block_size')::int AS idx
       FROM pg_stat_user_tables s WHERE s.relid = $1::regclass`,
      [table, this.database.schema],
    );
    let exact: number | null = null;
    if (this.pgstattuple) {
      const result = await this.client.query<{ dead: string }>('SELECT dead_tuple_count AS dead FROM pgstattuple($1::regclass)', [table]);
      exact = Number(result.rows[0].dead);
    }
    return {
      deadTuples: Number(rows[0].dead),
      exactDeadTuples: exact,
      liveTuples: Number(rows[0].live),
      heapPages: Number(rows[0].heap),
      indexPages: Number(rows[0].idx),
    };
  }

  async holderAge(pid: number): Promise<{ xminAge: number; seconds: number }> {
    const { rows } = await this.client.query<{ age: number; seconds: number }>(
      `SELECT age(backend_xmin) AS age, extract(epoch FROM now() - xact_start)::float8 AS seconds
       FROM pg_stat_activity WHERE pid = $1`,
      [pid],
    );
    return { xminAge: Number(rows[0]?.age ?? 0), seconds: Number(rows[0]?.seconds ?? 0) };
  }
}

/** `schema.table`; the schema name was validated as a plain identifier by the broker's options. */
function qualified(database: BrokerDatabase, table: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(database.schema)) throw new Error(`not a plain schema name: ${database.schema}`);
  return `${database.schema}.${table}`;
}
