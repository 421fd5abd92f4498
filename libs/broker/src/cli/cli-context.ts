import { createInterface } from 'node:readline/promises';
import type { Writable } from 'node:stream';
import type { Broker } from '../broker';
import type { Progress } from '../admin/dlq-admin';
import type * as BrokerIndex from '../index';
import type * as CliProgress from 'cli-progress';

/** Loaded when a command runs, so `herald --help` answers without loading pg and the broker. */
function lazy<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}

/** Exit codes: documented in the README's CLI reference, and stable. */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3 } as const;

/** Bad arguments found by the CLI itself (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Something asked for is not there (exit 3). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export interface GlobalOptions {
  url?: string;
  schema?: string;
  json?: boolean;
  ndjson?: boolean;
  yes?: boolean;
}

/** `--url`, then HERALD_BROKER_URL, then DATABASE_URL. */
export function connectionString(options: GlobalOptions): string {
  const url = options.url ?? process.env.HERALD_BROKER_URL ?? process.env.DATABASE_URL;
  if (url === undefined || url === '') throw new UsageError('no broker database: pass --url, or set HERALD_BROKER_URL or DATABASE_URL');
  return url;
}

/**
 * A broker connection for one command: no background duties (scheduler, retention), errors
 * only on stderr. Loaded on demand, so `herald --help` does not load pg.
 */
export async function withBroker<T>(options: GlobalOptions, work: (broker: Broker) => Promise<T>): Promise<T> {
  const { Broker: BrokerClass, ConsoleLogger } = lazy<typeof BrokerIndex>('../index');
  const broker = await BrokerClass.connect({
    connectionString: connectionString(options),
    ...(options.schema !== undefined ? { schema: options.schema } : {}),
    runScheduler: false,
    runRetention: false,
    tracing: false,
    poolSize: 4,
    applicationName: 'herald-cli',
    logger: new ConsoleLogger('error'),
  });
  try {
    return await work(broker);
  } finally {
    await broker.close();
  }
}

type Cell = string | number | boolean | Date | null | undefined;

function text(value: Cell): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** Prints rows as a padded table (default), a JSON array (`--json`) or one JSON object per line (`--ndjson`). */
export function printRows<R extends object>(
  options: GlobalOptions,
  rows: R[],
  columns: [header: string, cell: (row: R) => Cell][],
  out: Writable = process.stdout,
): void {
  if (options.json === true) {
    out.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (options.ndjson === true) {
    for (const row of rows) out.write(`${JSON.stringify(row)}\n`);
    return;
  }
  const cells = rows.map((row) => columns.map(([, cell]) => text(cell(row))));
  const widths = columns.map(([header], i) => Math.max(header.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]): string => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  out.write(`${line(columns.map(([header]) => header))}\n`);
  for (const r of cells) out.write(`${line(r)}\n`);
}

/** Prints one value: as JSON with `--json` / `--ndjson`, else through `human`. */
export function printValue(options: GlobalOptions, value: unknown, human: () => string): void {
  if (options.json === true) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else if (options.ndjson === true) process.stdout.write(`${JSON.stringify(value)}\n`);
  else process.stdout.write(`${human()}\n`);
}

/**
 * A destructive command goes on with `--yes`; without it, it asks on a terminal and refuses
 * (exit 2) when there is none to ask, so a script never deletes by accident.
 */
export async function confirm(options: GlobalOptions, question: string): Promise<void> {
  if (options.yes === true) return;
  if (process.stdin.isTTY !== true || process.stderr.isTTY !== true) {
    throw new UsageError(`${question} — refused without --yes (no terminal to ask)`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError('not confirmed');
  } finally {
    rl.close();
  }
}

export { lazy };

/** A progress bar on stderr when it is a terminal (and no JSON is asked for); nothing otherwise. */
export function progressBar(options: GlobalOptions, label: string): { update: Progress; stop: () => void } {
  if (process.stderr.isTTY !== true || options.json === true || options.ndjson === true) return { update: () => undefined, stop: () => undefined };
  const { SingleBar, Presets } = lazy<typeof CliProgress>('cli-progress');
  const bar = new SingleBar({ format: `${label} [{bar}] {value}/{total}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
  let started = false;
  return {
    update: (done, total) => {
      if (!started) bar.start(total, 0);
      started = true;
      bar.setTotal(total);
      bar.update(done);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

/** A time argument: ISO 8601, epoch milliseconds, or relative to now (`-15m`, `-2h`, `-1d`, `-30s`). */
export function parseTime(value: string, name: string): number {
  const relative = /^-(\d+)(s|m|h|d)$/.exec(value);
  if (relative) return Date.now() - Number(relative[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${name} must be an ISO time, epoch ms, or relative like -15m; got "${value}"`);
  return ms;
}

export function parseCount(value: string, name: string, min = 1, max = 1_000_000): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}; got "${value}"`);
  return n;
}
