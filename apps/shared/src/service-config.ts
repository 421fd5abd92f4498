import { DEFAULT_DELAY_LEVELS, BrokerOptions } from '@herald/broker';

/** What every sample service reads from its environment (docker-compose.yml sets the same names). */
export interface ServiceConfig {
  /** The service's own database. */
  databaseUrl: string;
  brokerUrl: string;
  port: number;
  /** Handlers at once per listener: the consumer's bounded rate (peak shaving). */
  listenerConcurrency: number;
  maxReconsumeTimes: number;
  /** Multiplies the broker's delay levels (retries after 10 s, 30 s, 1 m, ...): 0.01 in the demo. */
  delayScale: number;
  /** The order service, for reconciliation (inventory, logistics). */
  orderUrl: string | null;
  /**
   * ADMIN_TOKEN: the bearer token every /admin endpoint requires. Default null: the admin
   * endpoints are not mounted at all (404), so a deployment that never set one exposes none.
   */
  adminToken: string | null;
  /**
   * Fault injection, only with FAULTS_ENABLED=1: the faults injected from the start (FAULT_*);
   * POST /admin/faults changes them at runtime (with ADMIN_TOKEN). Default null: off, FAULT_*
   * refused and /admin/faults not mounted.
   */
  faults: InitialFaults | null;
}

export interface InitialFaults {
  failNext: number;
  poisonSku: string | null;
  crashAfterLocalCommit: boolean;
}

export const CONFIG_ENV = [
  'DATABASE_URL',
  'BROKER_URL',
  'PORT',
  'HOST',
  'LISTENER_CONCURRENCY',
  'MAX_RECONSUME_TIMES',
  'DELAY_SCALE',
  'ORDER_URL',
  'ADMIN_TOKEN',
  'FAULTS_ENABLED',
  'FAULT_FAIL_NEXT',
  'FAULT_POISON_SKU',
  'FAULT_CRASH_AFTER_LOCAL_COMMIT',
] as const;

const FAULT_ENV = CONFIG_ENV.filter((name) => name.startsWith('FAULT_'));

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is required (see README: running a service on its own)`);
  return value;
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

export function readServiceConfig(defaultPort: number, env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  return {
    databaseUrl: required(env, 'DATABASE_URL'),
    brokerUrl: required(env, 'BROKER_URL'),
    port: number(env, 'PORT', defaultPort, 0, 65_535),
    listenerConcurrency: number(env, 'LISTENER_CONCURRENCY', 8, 1, 256),
    maxReconsumeTimes: number(env, 'MAX_RECONSUME_TIMES', 16, 0, 100),
    delayScale: number(env, 'DELAY_SCALE', 1, 0.0001, 1),
    orderUrl: env.ORDER_URL || null,
    adminToken: token(env, 'ADMIN_TOKEN'),
    faults: faults(env),
  };
}

function faults(env: NodeJS.ProcessEnv): InitialFaults | null {
  if (!flag(env, 'FAULTS_ENABLED')) {
    // refused rather than ignored: a FAULT_* left in a production environment must not go unnoticed
    const stray = FAULT_ENV.find((name) => env[name] !== undefined && env[name] !== '');
    if (stray) throw new Error(`${stray} is set but fault injection is off: set FAULTS_ENABLED=1 to allow FAULT_* (demos and tests only)`);
    return null;
  }
  return {
    failNext: number(env, 'FAULT_FAIL_NEXT', 0, 0, 100_000),
    poisonSku: sku(env, 'FAULT_POISON_SKU'),
    crashAfterLocalCommit: flag(env, 'FAULT_CRASH_AFTER_LOCAL_COMMIT'),
  };
}

function token(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  if (!/^[\x21-\x7e]{16,256}$/.test(raw)) throw new Error(`${name} must be 16 to 256 printable characters without spaces (e.g. openssl rand -hex 24)`);
  return raw;
}

function sku(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  if (!/^[A-Za-z0-9-]{1,32}$/.test(raw)) throw new Error(`${name} must be a SKU (1-32 letters, digits or dashes), got ${JSON.stringify(raw)}`);
  return raw;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new Error(`${name} must be 1 or 0, got ${JSON.stringify(raw)}`);
}

/** Broker options of a sample service: the delay levels scaled, so the demo's retries take seconds, not hours. */
export function brokerOptions(config: ServiceConfig): BrokerOptions {
  return {
    connectionString: config.brokerUrl,
    delayLevels: DEFAULT_DELAY_LEVELS.map((ms) => Math.max(1, Math.round(ms * config.delayScale))),
    pollInterval: 1_000,
    // on prom-client's global registry, served at GET /metrics; one service exports broker state
    metrics: true,
  };
}
