import { Client } from 'pg';
import { Broker, BrokerLogger, BrokerOptions, ConsoleLogger, LogFields, LogLevel } from '@herald/broker';

/** Delay levels compressed ~100x (level 3, the first retry, is 100 ms). */
export const FAST_DELAY_LEVELS = [10, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600];

/** Timings compressed for tests: members die within a second, retries come in milliseconds. */
export const FAST: Partial<BrokerOptions> = {
  heartbeatInterval: 100,
  sessionTimeout: 1_000,
  pollInterval: 1_000,
  delayLevels: FAST_DELAY_LEVELS,
  logger: new ConsoleLogger('error'),
};

/**
 * Opens brokers for one test and closes them all in afterEach, so a failing
 * assertion does not leak pools into the next test. `timings` (usually FAST) are
 * given by each spec, so it says which ones it runs with; a call's own options win.
 */
export function useBrokers(db: { readonly url: string }, timings: Partial<BrokerOptions>): (options?: Partial<BrokerOptions>) => Promise<Broker> {
  const open: Broker[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((broker) => broker.close()));
  });
  return async (options = {}) => {
    const broker = await Broker.connect({ connectionString: db.url, ...timings, ...options });
    open.push(broker);
    return broker;
  };
}

/** Distinct topic names per test, so tests in one file do not see each other's messages. */
let counter = 0;
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/**
 * One query on a connection of its own, for what the public API does not show:
 * the store's clock and rows such as a member whose lease ran out.
 */
export async function queryStore<T>(db: { readonly url: string }, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Keeps every log line, for tests that assert what the broker said. */
export class RecordingLogger implements BrokerLogger {
  readonly lines: { level: LogLevel; message: string; fields?: LogFields }[] = [];
  log(level: LogLevel, message: string, fields?: LogFields): void {
    this.lines.push({ level, message, fields });
  }
}
