import { BrokerOptions, DEFAULT_DELAY_LEVELS, InvalidOptionsError, TransactionChecker } from '@herald/broker';
import { assertUserTopicName, boolOption, intOption, assertGroupName, limitedOption, OPTION_LIMITS, SERVICE_SCHEMA_NAME } from '@herald/broker/internal';

export interface HeraldModuleOptions {
  /** How to reach the broker's database (connection string, schema, pool size, ...). Required. */
  broker: BrokerOptions;
  /** Producer group of this service's transactional messages; any live instance answers its check-backs. Required. */
  producerGroup: string;
  /** Schema of the transaction log and inbox in the service's own database. Default `herald_local`. */
  schema?: string;
  /** A half message unresolved this long is checked back, ms. Default 6 000. */
  transactionTimeout?: number;
  /** Between check-backs of a half that stays unknown, ms. Default 60 000. */
  checkInterval?: number;
  /** Check-backs before a half is parked for an operator. Default 15. */
  maxChecks?: number;
  /** Per-topic check-back overrides; other topics are answered from the transaction log. */
  checkers?: Record<string, TransactionChecker>;
  /**
   * How long transaction-log rows are kept at least, ms (and inbox rows, unless `inboxRetention`
   * is given). Default 7 days; must outlast the check-back window plus `clockTolerance`. A row
   * whose half is still pending or parked at the broker is kept however old.
   */
  retention?: number;
  /**
   * How long inbox rows are kept at least, ms. Default: `retention`. Must outlast every copy the
   * broker may still deliver: its `retention` + `retentionCheckInterval` + the retry schedule of
   * `maxReconsumeTimes` + `clockTolerance`. A row whose message the broker still holds is kept however old.
   */
  inboxRetention?: number;
  /**
   * How far apart the clocks of this service's database, the broker's database and the producers'
   * hosts may be, ms: times compared with the log and inbox horizons are moved back by this much. Default 60 000.
   */
  clockTolerance?: number;
  /** How often old rows are deleted, ms. Default 1 hour. */
  retentionCheckInterval?: number;
  /** Default handler concurrency of a listener. Default 16. */
  concurrency?: number;
  /** Default retries before a message goes to the dead-letter queue. Default 16. */
  maxReconsumeTimes?: number;
  /** Start consumers in `onApplicationBootstrap`. Default true. */
  startListeners?: boolean;
  /** Create the topics named by this app's decorators if missing (queues: the broker's `defaultTopicQueues`, 8). Default true. */
  createTopics?: boolean;
  /**
   * Called after a transactional message's local commit and before its broker commit:
   * for observability, or fault injection (the sample crashes here). Default none.
   */
  onLocalCommit?: (info: LocalCommitInfo) => void | Promise<void>;
}

export interface LocalCommitInfo {
  transactionId: string;
  msgId: string;
  topic: string;
}

export interface ResolvedHeraldOptions {
  broker: BrokerOptions;
  producerGroup: string;
  schema: string;
  transactionTimeout: number;
  checkInterval: number;
  maxChecks: number;
  checkers: ReadonlyMap<string, TransactionChecker>;
  retention: number;
  inboxRetention: number;
  clockTolerance: number;
  retentionCheckInterval: number;
  concurrency: number;
  maxReconsumeTimes: number;
  startListeners: boolean;
  createTopics: boolean;
  onLocalCommit: ((info: LocalCommitInfo) => void | Promise<void>) | null;
}

const DAY = 86_400_000;
/** The broker's own defaults (broker-options.ts), for options left unset. */
const BROKER_RETENTION = 72 * 3_600_000;
const BROKER_RETENTION_CHECK_INTERVAL = 60_000;

/** How long after a first delivery retries of it may still come: retry n waits delay level n+2 (the last level past 16). */
function retrySpan(delayLevels: readonly number[], maxReconsumeTimes: number): number {
  let total = 0;
  for (let retry = 1; retry <= maxReconsumeTimes; retry += 1) total += delayLevels[Math.min(retry + 2, delayLevels.length) - 1];
  return total;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/**
 * Why inbox rows kept `options.inboxRetention` could be gone while the broker may still deliver
 * a copy of their message (a rewind within its retention, a retry, a DLQ message resent before it
 * expires), or null if they cannot. Invalid broker values are left to Broker.connect to refuse.
 */
export function inboxRetentionProblem(
  options: Pick<ResolvedHeraldOptions, 'broker' | 'inboxRetention' | 'clockTolerance'>,
  maxReconsumeTimes: number,
): string | null {
  const brokerRetention = numberOr(options.broker.retention, BROKER_RETENTION);
  const interval = numberOr(options.broker.retentionCheckInterval, BROKER_RETENTION_CHECK_INTERVAL);
  const levels = Array.isArray(options.broker.delayLevels) && options.broker.delayLevels.length === 18 ? options.broker.delayLevels : DEFAULT_DELAY_LEVELS;
  const retries = retrySpan(levels, maxReconsumeTimes);
  const needed = brokerRetention + interval + retries + options.clockTolerance;
  if (options.inboxRetention > needed) return null;
  return (
    `inbox rows (kept ${options.inboxRetention} ms) must outlast every copy of a message the broker may still deliver: ` +
    `broker retention ${brokerRetention} + its retentionCheckInterval ${interval} + retries ${retries} (maxReconsumeTimes ${maxReconsumeTimes}) + clockTolerance ${options.clockTolerance} = ${needed} ms`
  );
}

function functionOption<T>(value: T | undefined, field: string): T | null {
  if (value === undefined) return null;
  if (typeof value !== 'function') throw new InvalidOptionsError(field, 'must be a function');
  return value;
}

/** Validates the module options once, naming the first bad field. */
export function resolveHeraldOptions(options: HeraldModuleOptions): ResolvedHeraldOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be an object with broker and producerGroup');
  if (options.broker === null || typeof options.broker !== 'object') {
    throw new InvalidOptionsError('broker', 'must be the broker options, at least { connectionString }');
  }
  assertGroupName(options.producerGroup, 'producerGroup');
  const schema = options.schema ?? 'herald_local';
  if (typeof schema !== 'string' || !SERVICE_SCHEMA_NAME.test(schema)) throw new InvalidOptionsError('schema', `must match ${SERVICE_SCHEMA_NAME.source}`);
  // the broker's limits: these go to its TransactionProducer and push consumers unchanged
  const transactionTimeout = limitedOption(options.transactionTimeout, 'transactionTimeout', OPTION_LIMITS.transactionTimeout);
  const checkInterval = limitedOption(options.checkInterval, 'checkInterval', OPTION_LIMITS.checkInterval);
  const maxChecks = limitedOption(options.maxChecks, 'maxChecks', OPTION_LIMITS.maxChecks);
  const retention = intOption(options.retention, 'retention', 7 * DAY, 1, 365 * DAY);
  const inboxRetention = intOption(options.inboxRetention, 'inboxRetention', retention, 1, 3_650 * DAY);
  const clockTolerance = intOption(options.clockTolerance, 'clockTolerance', 60_000, 0, DAY);
  const checkWindow = transactionTimeout + maxChecks * checkInterval + clockTolerance;
  if (retention <= checkWindow) {
    // rows of checked halves are kept anyway; this keeps halves checked in time clear of the log horizon
    throw new InvalidOptionsError(
      'retention',
      `must outlast the check-back window (transactionTimeout + maxChecks × checkInterval + clockTolerance = ${checkWindow} ms)`,
    );
  }
  const maxReconsumeTimes = limitedOption(options.maxReconsumeTimes, 'maxReconsumeTimes', OPTION_LIMITS.maxReconsumeTimes);
  const inboxProblem = inboxRetentionProblem({ broker: options.broker, inboxRetention, clockTolerance }, maxReconsumeTimes);
  if (inboxProblem !== null) {
    if (options.inboxRetention !== undefined) throw new InvalidOptionsError('inboxRetention', inboxProblem);
    throw new InvalidOptionsError('retention', `${inboxProblem}; inbox rows are kept for retention unless inboxRetention is set`);
  }
  const checkers = new Map<string, TransactionChecker>();
  if (options.checkers !== undefined) {
    if (options.checkers === null || typeof options.checkers !== 'object') throw new InvalidOptionsError('checkers', 'must map topics to checker functions');
    for (const [topic, checker] of Object.entries(options.checkers)) {
      assertUserTopicName(topic);
      if (typeof checker !== 'function') throw new InvalidOptionsError(`checkers.${topic}`, 'must be a function returning COMMIT, ROLLBACK or UNKNOWN');
      checkers.set(topic, checker);
    }
  }
  return {
    broker: options.broker,
    producerGroup: options.producerGroup,
    schema,
    transactionTimeout,
    checkInterval,
    maxChecks,
    checkers,
    retention,
    inboxRetention,
    clockTolerance,
    retentionCheckInterval: intOption(options.retentionCheckInterval, 'retentionCheckInterval', 3_600_000, 1_000, DAY),
    concurrency: limitedOption(options.concurrency, 'concurrency', OPTION_LIMITS.concurrency),
    maxReconsumeTimes,
    startListeners: boolOption(options.startListeners, 'startListeners', true),
    createTopics: boolOption(options.createTopics, 'createTopics', true),
    onLocalCommit: functionOption(options.onLocalCommit, 'onLocalCommit'),
  };
}
