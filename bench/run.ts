/**
 * `npm run bench`: Herald against pg-boss and graphile-worker, in one run, on one
 * PostgreSQL (embedded, durability on; or DATABASE_URL). See bench/README.md.
 *
 *   npm run bench                      full run: N = 20 000, 3 repetitions, live at 1 000, 5 000 and 10 000 msg/s
 *   npm run bench -- --quick           smoke run: N = 2 000, 1 repetition, live at 1 000 msg/s for 1 s
 *   npm run bench -- --only herald     one system (comma-separate several)
 *   npm run bench -- --only herald --scenarios long-snapshot   chosen scenarios (comma-separate several)
 *   npm run bench -- --reps 5 --n 50000 --out /tmp/results
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { databaseUrl, openDevPostgres, recreateDatabase } from '@herald/testing';
import { LongSnapshotResult, LongSnapshotSizes, longSnapshot } from './long-snapshot';
import { batchSends, decoratedSends, drain, live, LiveResult, ScenarioSizes, singleSends, transactionalSends } from './scenarios';
import { formatNumber, formatSummary, Summary, summarize } from './stats';
import { GraphileWorkerSystem } from './systems/graphile-worker';
import { HeraldSystem } from './systems/herald';
import { PgBossSystem } from './systems/pg-boss';
import type { QueueSystem } from './systems/system';

const SYSTEMS: Record<string, { database: string; open: (url: string) => Promise<QueueSystem> }> = {
  herald: { database: 'bench_herald', open: (url) => HeraldSystem.open(url, databaseUrl(url, 'bench_herald_local')) },
  // not in the default run: `--only herald,herald-metrics` (or herald-tracing) measures what metrics (tracing) cost, interleaved
  'herald-metrics': { database: 'bench_herald_metrics', open: (url) => HeraldSystem.open(url, databaseUrl(url, 'bench_herald_metrics_local'), 'metrics') },
  'herald-tracing': { database: 'bench_herald_tracing', open: (url) => HeraldSystem.open(url, databaseUrl(url, 'bench_herald_tracing_local'), 'tracing') },
  'pg-boss': { database: 'bench_pgboss', open: (url) => PgBossSystem.open(url) },
  'graphile-worker': { database: 'bench_graphile', open: (url) => GraphileWorkerSystem.open(url) },
};

/** Systems only run when named in `--only`. */
const OPT_IN_SYSTEMS = ['herald-metrics', 'herald-tracing'];

const SCENARIOS = ['single', 'batch', 'transactional', 'decorated', 'drain', 'live', 'long-snapshot'];

interface Metric {
  key: string;
  label: string;
  higherIsBetter: boolean;
}

function summaryOf(results: Map<string, Map<string, number[]>>, system: string, metric: string): Summary | undefined {
  const runs = results.get(system)?.get(metric);
  return runs ? summarize(runs) : undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      reps: { type: 'string' },
      n: { type: 'string' },
      out: { type: 'string' },
      scenarios: { type: 'string' },
      'snapshot-ms': { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const names = values.only ? values.only.split(',').map((s) => s.trim()) : Object.keys(SYSTEMS).filter((name) => !OPT_IN_SYSTEMS.includes(name));
  const unknown = names.filter((name) => !SYSTEMS[name]);
  if (unknown.length > 0) throw new Error(`--only: unknown system(s) ${unknown.join(', ')}; choose from ${Object.keys(SYSTEMS).join(', ')}`);
  const chosen = new Set(values.scenarios ? values.scenarios.split(',').map((s) => s.trim()) : SCENARIOS);
  const unknownScenarios = [...chosen].filter((name) => !SCENARIOS.includes(name));
  if (unknownScenarios.length > 0) throw new Error(`--scenarios: unknown scenario(s) ${unknownScenarios.join(', ')}; choose from ${SCENARIOS.join(', ')}`);
  const reps = Number(values.reps ?? (quick ? 1 : 3));
  const sizes: ScenarioSizes = {
    n: Number(values.n ?? (quick ? 2_000 : 20_000)),
    liveRates: quick ? [1_000] : [1_000, 5_000, 10_000],
    liveMs: quick ? 1_000 : 5_000,
  };
  const snapshotMs = Number(values['snapshot-ms'] ?? (quick ? 2_000 : 20_000));
  // ten slices in a quick run, one-second slices otherwise
  const snapshotSizes: LongSnapshotSizes = { windowMs: snapshotMs, sliceMs: quick ? Math.max(1, Math.round(snapshotMs / 10)) : 1_000 };
  if (!Number.isInteger(reps) || reps < 1 || !Number.isInteger(sizes.n) || sizes.n < 1) throw new Error('--reps and --n must be positive integers');
  if (!Number.isInteger(snapshotMs) || snapshotMs < 1) throw new Error('--snapshot-ms must be a positive integer');
  // bench/results of the checkout, whether this runs as bench/run.ts or as dist/bench/run.js
  const outDir = resolve(values.out ?? join(__dirname, __dirname.includes(`${sep}dist${sep}`) ? '../../bench' : '.', 'results'));

  const postgres = await openDevPostgres();
  const server = postgres.server ? `embedded PostgreSQL on 127.0.0.1:${postgres.server.port}` : 'DATABASE_URL';
  console.log(
    `Herald benchmark: ${server}, N=${sizes.n}, ${reps} repetition(s), live ${sizes.liveRates.join(' and ')} msg/s for ${sizes.liveMs} ms, long snapshot ${snapshotMs} ms, scenarios ${[...chosen].join(',')}`,
  );
  const systems: QueueSystem[] = [];
  const results = new Map<string, Map<string, number[]>>();
  const longSnapshots: LongSnapshotResult[] = [];
  const record = (system: string, metric: string, value: number): void => {
    if (!results.has(system)) results.set(system, new Map());
    const byMetric = results.get(system)!;
    byMetric.set(metric, [...(byMetric.get(metric) ?? []), value]);
  };
  const metrics: Metric[] = [
    { key: 'single', label: 'single sends, 32 callers (msg/s)', higherIsBetter: true },
    { key: 'batch', label: 'batch send, 1 000 per call (msg/s)', higherIsBetter: true },
    { key: 'transactional', label: 'transactional: half + local tx + commit, 32 callers (msg/s)', higherIsBetter: true },
    { key: 'decorated', label: 'transactional via @TransactionalMessage (Nest), 32 callers (msg/s)', higherIsBetter: true },
    { key: 'drain', label: `drain ${sizes.n.toLocaleString('en-US')} (msg/s)`, higherIsBetter: true },
    ...sizes.liveRates.flatMap((rate) => [
      { key: `live${rate}.p50`, label: `live ${rate}/s: p50 (ms)`, higherIsBetter: false },
      { key: `live${rate}.p99`, label: `live ${rate}/s: p99 (ms)`, higherIsBetter: false },
      { key: `live${rate}.max`, label: `live ${rate}/s: max (ms)`, higherIsBetter: false },
    ]),
    { key: 'snapshot.base', label: `long snapshot: single sends for ${snapshotMs / 1000} s, no snapshot (msg/s)`, higherIsBetter: true },
    { key: 'snapshot.held', label: 'long snapshot: the same, RR snapshot held (msg/s)', higherIsBetter: true },
    { key: 'snapshot.ratio', label: 'long snapshot: held / no snapshot', higherIsBetter: true },
    { key: 'snapshot.lastSlice', label: `long snapshot: held, last ${snapshotSizes.sliceMs / 1000} s (msg/s)`, higherIsBetter: true },
    { key: 'snapshot.deadTuples', label: 'long snapshot: dead tuples in queues at the end', higherIsBetter: false },
    { key: 'snapshot.xminAge', label: 'long snapshot: age(backend_xmin) of the holder', higherIsBetter: false },
  ];
  try {
    for (const name of names) {
      const { database, open } = SYSTEMS[name];
      await recreateDatabase(postgres.url, database);
      if (name === 'herald') await recreateDatabase(postgres.url, 'bench_herald_local');
      if (OPT_IN_SYSTEMS.includes(name)) await recreateDatabase(postgres.url, `bench_${name.replace('-', '_')}_local`);
      systems.push(await open(databaseUrl(postgres.url, database)));
    }
    let run = 0;
    for (let rep = 1; rep <= reps; rep += 1) {
      for (const system of systems) {
        const tag = (scenario: string): string => `${scenario}-${rep}-${(run += 1)}`;
        const log = (what: string, value: string): void => console.log(`  [rep ${rep}/${reps}] ${system.name.padEnd(16)} ${what.padEnd(22)} ${value}`);
        // A system that fails a scenario (a peer overwhelmed, say) is reported, not fatal to the run.
        const measure = async <T>(what: string, scenario: () => Promise<T>): Promise<T | null> => {
          try {
            return await scenario();
          } catch (error) {
            log(what, `failed: ${error instanceof Error ? error.message : String(error)}`);
            await system.stopWorker().catch(() => undefined);
            await system.cleanUp().catch(() => undefined);
            return null;
          }
        };
        const throughput: [string, string, () => Promise<number | null>][] = [
          ['single', 'single sends', () => singleSends(system, tag('single'), sizes)],
          ['batch', 'batch send', () => batchSends(system, tag('batch'), sizes)],
          ['transactional', 'transactional', () => transactionalSends(system, tag('tx'), sizes)],
          ['decorated', 'decorated (Nest)', () => decoratedSends(system, tag('decorated'), sizes)],
          ['drain', 'drain', () => drain(system, tag('drain'), sizes)],
        ];
        for (const [key, what, scenario] of throughput.filter(([key]) => chosen.has(key))) {
          const rate = await measure(what, scenario);
          if (rate === null) continue;
          record(system.name, key, rate);
          log(what, `${formatNumber(rate)} msg/s`);
        }
        for (const rate of chosen.has('live') ? sizes.liveRates : []) {
          // Offering 10 000/s to a system that sends ~1 000/s one by one only measures its backlog for minutes.
          const sendRate = summaryOf(results, system.name, 'single')?.median ?? 0;
          if (rate > 5_000 && sendRate < rate / 2) {
            log(`live ${rate}/s`, `skipped: its single sends top out at ${formatNumber(sendRate)}/s`);
            continue;
          }
          const result: LiveResult | null = await measure(`live ${rate}/s`, () => live(system, tag(`live${rate}`), rate, sizes));
          if (result === null) continue;
          record(system.name, `live${rate}.p50`, result.p50);
          record(system.name, `live${rate}.p99`, result.p99);
          record(system.name, `live${rate}.max`, result.max);
          log(
            `live ${rate}/s`,
            `p50 ${formatNumber(result.p50)} ms, p99 ${formatNumber(result.p99)} ms, max ${formatNumber(result.max)} ms (sent at ${formatNumber(result.achieved)}/s)`,
          );
        }
        // Last: it leaves the broker's tables bloated until its closing VACUUM.
        const snapshot = chosen.has('long-snapshot') ? await measure('long snapshot', () => longSnapshot(system, tag('snapshot'), snapshotSizes)) : null;
        if (snapshot) {
          longSnapshots.push(snapshot);
          const dead = snapshot.held.queues.exactDeadTuples ?? snapshot.held.queues.deadTuples;
          record(system.name, 'snapshot.base', snapshot.baseline.rate);
          record(system.name, 'snapshot.held', snapshot.held.rate);
          record(system.name, 'snapshot.ratio', snapshot.ratio);
          record(system.name, 'snapshot.lastSlice', snapshot.held.slices[snapshot.held.slices.length - 1]);
          record(system.name, 'snapshot.deadTuples', dead);
          record(system.name, 'snapshot.xminAge', snapshot.holderXminAge);
          const slices = (run: { slices: number[] }): string => run.slices.map((r) => formatNumber(r)).join(' ');
          log(
            'long snapshot',
            `${formatNumber(snapshot.baseline.rate)} -> ${formatNumber(snapshot.held.rate)} msg/s (x${snapshot.ratio.toFixed(2)}), dead tuples ${dead}, holder xmin age ${snapshot.holderXminAge}`,
          );
          log('  per slice, none', slices(snapshot.baseline));
          log('  per slice, held', slices(snapshot.held));
        }
      }
    }
  } finally {
    for (const system of systems) await system.close().catch((error: unknown) => console.error(`closing ${system.name}:`, error));
    await postgres.close();
  }

  const summary = (system: string, metric: string): Summary | undefined => summaryOf(results, system, metric);
  const systemNames = systems.map((s) => s.name);
  const peers = systemNames.filter((s) => s !== 'Herald');
  const header = ['scenario', ...systemNames, ...(systemNames.includes('Herald') ? peers.map((p) => `Herald vs ${p}`) : [])];
  const shown = metrics.filter((metric) => systemNames.some((s) => summary(s, metric.key)));
  const rows = shown.map((metric) => {
    const cells = systemNames.map((s) => formatSummary(summary(s, metric.key)));
    const herald = summary('Herald', metric.key);
    const ratios = systemNames.includes('Herald')
      ? peers.map((peer) => {
          const other = summary(peer, metric.key);
          if (!herald || !other) return '-';
          const ratio = metric.higherIsBetter ? herald.median / other.median : other.median / herald.median;
          return `${ratio.toFixed(1)}x ${metric.higherIsBetter ? 'faster' : 'lower'}`;
        })
      : [];
    return [metric.label, ...cells, ...ratios];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`\nMedian of ${reps} repetition(s), (min–max) in brackets.`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log('\nSettings:');
  for (const system of systems) console.log(`  ${system.name}: ${system.settings}`);

  mkdirSync(outDir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    server,
    sizes,
    snapshotSizes,
    scenarios: [...chosen],
    reps,
    settings: Object.fromEntries(systems.map((s) => [s.name, s.settings])),
    results: Object.fromEntries(systemNames.map((s) => [s, Object.fromEntries(metrics.map((m) => [m.key, summary(s, m.key)]))])),
    // Herald's long-snapshot runs in full: throughput per slice and the queue table's state, per repetition.
    longSnapshot: longSnapshots,
  };
  const file = join(outDir, `${quick ? 'quick' : 'full'}-${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, quick ? 'latest-quick.json' : 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nWrote ${file}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
