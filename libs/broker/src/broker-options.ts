import { InvalidOptionsError } from './errors/invalid-options.error';
import { BrokerLogger, ConsoleLogger } from './logger';
import { boolOption, BROKER_SCHEMA_NAME, intOption } from './option-limits';
import { ResolvedTracingOptions, resolveTracingOptions, TracingOptions } from './tracing/tracing-options';
import { MetricsOptions, ResolvedMetricsOptions, resolveMetricsOptions } from './metrics/metrics-options';

const DAY = 86_400_000;
const MiB = 1024 * 1024;

/** RocketMQ's delay levels 1..18, in milliseconds: 1s 5s 10s 30s 1m 2m 3m ... 10m 20m 30m 1h 2h. */
export const DEFAULT_DELAY_LEVELS: readonly number[] = [
  1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000, 480_000, 540_000, 600_000, 1_200_000, 1_800_000, 3_600_000,
  7_200_000,
];

export interface BrokerOptions {
  /** PostgreSQL connection string of the broker store. Required. */
  connectionString: string;
  /** Schema holding the broker's tables. Default `herald`. */
  schema?: string;
  /** Connections in the broker's pool (the LISTEN connection comes on top). Default 10. */
  poolSize?: number;
  /** Create unknown topics on first send instead of failing with TopicNotFoundError. Default false. */
  autoCreateTopics?: boolean;
  /** Queue count of topics created by `autoCreateTopics`. Default 8. */
  defaultTopicQueues?: number;
  /** Largest accepted message body in bytes. Default 4 MiB. */
  maxMessageSize?: number;
  /** The 18 delay levels in milliseconds (retry n uses level n+2). Default RocketMQ's 1s ... 2h. */
  delayLevels?: readonly number[];
  /** Furthest ahead a `deliverAt` may be, ms. Default 3 days. */
  maxDelay?: number;
  /** Fallback poll for consumers and the scheduler when no notification arrives, ms. Default 5 000. */
  pollInterval?: number;
  /** How often consumers renew their membership and queue leases, ms. Default 2 000. */
  heartbeatInterval?: number;
  /** A member whose heartbeat is older than this is dead and its queues move on, ms. Default 10 000. */
  sessionTimeout?: number;
  /** Most messages written in one group-commit round trip. Default 256. */
  maxBatchSize?: number;
  /**
   * Most bytes (bodies plus tag, keys, group and properties) in one group-commit
   * round trip; a single larger send or batch still goes, alone. Default 16 MiB.
   */
  maxFlushBytes?: number;
  /** Largest total size of one `sendBatch`, in bytes (RocketMQ's batch cap). Default 4 MiB. */
  maxBatchBytes?: number;
  /** Messages that may wait for the store at once; more sends fail with SendQueueFullError. Default 100 000. */
  maxPendingSends?: number;
  /** Bytes that may wait for the store at once; more sends fail with SendQueueFullError. Default 1 GiB. */
  maxPendingBytes?: number;
  /** Giving up on opening a connection, ms. Default 10 000. */
  connectTimeout?: number;
  /** `statement_timeout` of the broker's sessions, ms (0: none). Default 30 000. */
  statementTimeout?: number;
  /**
   * `lock_timeout` of the broker's sessions, ms (0: none): a send waiting this long
   * for a queue another session holds fails (BrokerTimeoutError) instead of holding
   * up sends to other queues. Default 5 000.
   */
  lockTimeout?: number;
  /** Prefix of `application_name` on the broker's connections (`<prefix>:producer`, `:consumer`, `:scheduler`, `:listener`). Default `herald`. */
  applicationName?: string;
  /** Group-commit flushes in flight at once on the pipelined append connection. Default 2. */
  appendPipelineDepth?: number;
  /** Run the loop that moves due retries into their queues in this process. Default true. */
  runScheduler?: boolean;
  /** Messages older than this are deleted, ms. Default 72 h. */
  retention?: number;
  /** How often the retention pass runs, ms. Default 60 000. */
  retentionCheckInterval?: number;
  /** Audit-log entries (what operators changed through `admin`) older than this are deleted, ms. Default 90 days. */
  auditRetention?: number;
  /** How often topic and group positions are sampled for `admin.rates()` (by brokers that run retention), ms; 0: never. Default 10 000. */
  throughputSampleInterval?: number;
  /** Run the retention pass in this process. Default true. */
  runRetention?: boolean;
  /** Where logs go. Default: `key=value` lines on stderr, warnings and errors only. */
  logger?: BrokerLogger;
  /**
   * Prometheus metrics (needs the optional peer `prom-client`): `true` or options turn them
   * on, on prom-client's global registry unless `registry` is given. Default off.
   */
  metrics?: boolean | MetricsOptions;
  /**
   * OpenTelemetry tracing (needs the optional peer `@opentelemetry/api`, and records once
   * the app registers an SDK): on by default when the package is installed; `false` turns
   * it off; options choose links over parenting and opt into baggage.
   */
  tracing?: boolean | TracingOptions;
}

/** The options a broker runs with: what was given, every default applied (see BrokerOptions for each). */
export interface ResolvedBrokerOptions {
  connectionString: string;
  schema: string;
  poolSize: number;
  autoCreateTopics: boolean;
  defaultTopicQueues: number;
  maxMessageSize: number;
  delayLevels: readonly number[];
  maxDelay: number;
  pollInterval: number;
  heartbeatInterval: number;
  sessionTimeout: number;
  maxBatchSize: number;
  maxFlushBytes: number;
  maxBatchBytes: number;
  maxPendingSends: number;
  maxPendingBytes: number;
  connectTimeout: number;
  statementTimeout: number;
  lockTimeout: number;
  applicationName: string;
  appendPipelineDepth: number;
  runScheduler: boolean;
  retention: number;
  retentionCheckInterval: number;
  auditRetention: number;
  throughputSampleInterval: number;
  runRetention: boolean;
  logger: BrokerLogger;
  /** null: metrics off. */
  metrics: ResolvedMetricsOptions | null;
  /** null: tracing off. */
  tracing: ResolvedTracingOptions | null;
}

/** 0 turns sampling off; otherwise from 100 ms (tests) to 10 minutes (rates look back an hour). */
function throughputSampleInterval(value: number | undefined): number {
  if (value === 0) return 0;
  return intOption(value, 'throughputSampleInterval', 10_000, 100, 600_000);
}

export function resolveBrokerOptions(options: BrokerOptions): ResolvedBrokerOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object with at least connectionString');
  }
  const { connectionString } = options;
  if (typeof connectionString !== 'string' || connectionString.length === 0) {
    throw new InvalidOptionsError('connectionString', 'must be a non-empty PostgreSQL connection string');
  }
  const schema = options.schema ?? 'herald';
  if (typeof schema !== 'string' || !BROKER_SCHEMA_NAME.test(schema)) {
    throw new InvalidOptionsError('schema', `must match ${BROKER_SCHEMA_NAME.source}`);
  }
  const delayLevels = options.delayLevels ?? DEFAULT_DELAY_LEVELS;
  if (
    !Array.isArray(delayLevels) ||
    delayLevels.length !== 18 ||
    !delayLevels.every((ms) => typeof ms === 'number' && Number.isInteger(ms) && ms >= 0 && ms <= 30 * DAY)
  ) {
    throw new InvalidOptionsError('delayLevels', 'must be 18 whole numbers of milliseconds (0 to 30 days)');
  }
  const heartbeatInterval = intOption(options.heartbeatInterval, 'heartbeatInterval', 2_000, 10, 600_000);
  const sessionTimeout = intOption(options.sessionTimeout, 'sessionTimeout', 10_000, 50, 3_600_000);
  if (sessionTimeout <= heartbeatInterval) {
    throw new InvalidOptionsError('sessionTimeout', `must be longer than heartbeatInterval (${heartbeatInterval} ms)`);
  }
  const applicationName = options.applicationName ?? 'herald';
  if (typeof applicationName !== 'string' || !/^[A-Za-z0-9_.-]{1,40}$/.test(applicationName)) {
    throw new InvalidOptionsError('applicationName', 'must match ^[A-Za-z0-9_.-]{1,40}$');
  }
  const logger = options.logger ?? new ConsoleLogger();
  if (typeof logger.log !== 'function') throw new InvalidOptionsError('logger', 'must have a log(level, message, fields) method');
  return {
    connectionString,
    schema,
    poolSize: intOption(options.poolSize, 'poolSize', 10, 2, 1_000),
    autoCreateTopics: boolOption(options.autoCreateTopics, 'autoCreateTopics', false),
    defaultTopicQueues: intOption(options.defaultTopicQueues, 'defaultTopicQueues', 8, 1, 1024),
    maxMessageSize: intOption(options.maxMessageSize, 'maxMessageSize', 4 * 1024 * 1024, 1, 256 * 1024 * 1024),
    delayLevels: Array.from<number>(delayLevels),
    maxDelay: intOption(options.maxDelay, 'maxDelay', 3 * DAY, 1_000, 365 * DAY),
    pollInterval: intOption(options.pollInterval, 'pollInterval', 5_000, 10, DAY),
    heartbeatInterval,
    sessionTimeout,
    maxBatchSize: intOption(options.maxBatchSize, 'maxBatchSize', 256, 1, 10_000),
    // A PostgreSQL protocol message and a bytea value stop at 1 GiB; flushes stay well below.
    maxFlushBytes: intOption(options.maxFlushBytes, 'maxFlushBytes', 16 * MiB, 1, 512 * MiB),
    maxBatchBytes: intOption(options.maxBatchBytes, 'maxBatchBytes', 4 * MiB, 1, 512 * MiB),
    maxPendingSends: intOption(options.maxPendingSends, 'maxPendingSends', 100_000, 1, 10_000_000),
    maxPendingBytes: intOption(options.maxPendingBytes, 'maxPendingBytes', 1024 * MiB, 1, 64 * 1024 * MiB),
    connectTimeout: intOption(options.connectTimeout, 'connectTimeout', 10_000, 1, 600_000),
    statementTimeout: intOption(options.statementTimeout, 'statementTimeout', 30_000, 0, DAY),
    lockTimeout: intOption(options.lockTimeout, 'lockTimeout', 5_000, 0, DAY),
    applicationName,
    appendPipelineDepth: intOption(options.appendPipelineDepth, 'appendPipelineDepth', 2, 1, 16),
    runScheduler: boolOption(options.runScheduler, 'runScheduler', true),
    retention: intOption(options.retention, 'retention', 72 * 3_600_000, 1, 3_650 * DAY),
    retentionCheckInterval: intOption(options.retentionCheckInterval, 'retentionCheckInterval', 60_000, 10, DAY),
    auditRetention: intOption(options.auditRetention, 'auditRetention', 90 * DAY, 1, 3_650 * DAY),
    throughputSampleInterval: throughputSampleInterval(options.throughputSampleInterval),
    runRetention: boolOption(options.runRetention, 'runRetention', true),
    logger,
    metrics: resolveMetricsOptions(options.metrics),
    tracing: resolveTracingOptions(options.tracing),
  };
}
