import { InvalidOptionsError } from '../errors/invalid-options.error';
import { intOption } from '../option-limits';

/**
 * Where Herald registers its metrics: a prom-client `Registry` (structurally: Herald's
 * types do not depend on prom-client, an optional peer).
 */
export interface MetricsRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  /** The registry to register on. Default: prom-client's global `register` (what `@willsoto/nestjs-prometheus` serves). */
  registry?: MetricsRegistry;
  /** Prefix of every metric name. Default `herald_`; `rocketmq_` reuses RocketMQ dashboards. */
  prefix?: string;
  /**
   * Broker-state gauges (lag, ready messages, half messages, DLQ sizes), read from the store
   * at scrape time. `auto` (default): exported by one instance only, the one holding the
   * broker's metrics lock (a session advisory lock on its LISTEN connection), so several
   * scraped instances do not count the same lag twice; another takes over when it stops.
   * `true`: this instance always exports them; `false`: never.
   */
  brokerState?: 'auto' | boolean;
  /** How long a broker-state reading is reused, ms. Default 5 000. */
  stateCacheTtl?: number;
  /** A broker-state reading taking longer is given up (the previous one is kept, and logged), ms. Default 2 000. */
  stateTimeout?: number;
}

export interface ResolvedMetricsOptions {
  registry: MetricsRegistry | null;
  prefix: string;
  brokerState: 'auto' | boolean;
  stateCacheTtl: number;
  stateTimeout: number;
}

/** `metrics: true` or an options object turns metrics on; omitted or false leaves them off (and prom-client unloaded). */
export function resolveMetricsOptions(options: boolean | MetricsOptions | undefined): ResolvedMetricsOptions | null {
  if (options === undefined || options === false) return null;
  const given: MetricsOptions = options === true ? {} : options;
  if (given === null || typeof given !== 'object') throw new InvalidOptionsError('metrics', 'must be true, false or an options object');
  const prefix = given.prefix ?? 'herald_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]{0,40}$/.test(prefix)) {
    throw new InvalidOptionsError('metrics.prefix', 'must match ^[a-zA-Z_][a-zA-Z0-9_]{0,40}$ (a Prometheus name prefix)');
  }
  const registry = given.registry ?? null;
  if (registry !== null && (typeof registry !== 'object' || typeof registry.metrics !== 'function')) {
    throw new InvalidOptionsError('metrics.registry', 'must be a prom-client Registry');
  }
  const brokerState = given.brokerState ?? 'auto';
  if (brokerState !== 'auto' && brokerState !== true && brokerState !== false) {
    throw new InvalidOptionsError('metrics.brokerState', "must be 'auto', true or false");
  }
  return {
    registry,
    prefix,
    brokerState,
    stateCacheTtl: intOption(given.stateCacheTtl, 'metrics.stateCacheTtl', 5_000, 0, 3_600_000),
    stateTimeout: intOption(given.stateTimeout, 'metrics.stateTimeout', 2_000, 1, 600_000),
  };
}
