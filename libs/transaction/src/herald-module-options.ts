import {
  boolOption,
  BrokerOptions,
  intOption,
  InvalidOptionsError,
  isValidGroupName,
  assertUserTopicName,
  TransactionChecker,
} from '@herald/broker';

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
  /** How long transaction-log and inbox rows are kept, ms. Default 7 days; must outlast the check-back window. */
  retention?: number;
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
  retentionCheckInterval: number;
  concurrency: number;
  maxReconsumeTimes: number;
  startListeners: boolean;
  createTopics: boolean;
  onLocalCommit: ((info: LocalCommitInfo) => void | Promise<void>) | null;
}

const DAY = 86_400_000;

function functionOption<T>(value: T | undefined, field: string): T | null {
  if (value === undefined) return null;
  if (typeof value !== 'function') throw new InvalidOptionsError(field, 'must be a function');
  return value;
}
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Validates the module options once, naming the first bad field. */
export function resolveHeraldOptions(options: HeraldModuleOptions): ResolvedHeraldOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be an object with broker and producerGroup');
  if (options.broker === null || typeof options.broker !== 'object') {
    throw new InvalidOptionsError('broker', 'must be the broker options, at least { connectionString }');
  }
  if (!isValidGroupName(options.producerGroup)) throw new InvalidOptionsError('producerGroup', 'must match ^[A-Za-z0-9_|-]{1,120}$');
  const schema = options.schema ?? 'herald_local';
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) throw new InvalidOptionsError('schema', 'must match ^[a-z_][a-z0-9_]{0,62}$');
  const transactionTimeout = intOption(options.transactionTimeout, 'transactionTimeout', 6_000, 1, DAY);
  const checkInterval = intOption(options.checkInterval, 'checkInterval', 60_000, 1, DAY);
  const maxChecks = intOption(options.maxChecks, 'maxChecks', 15, 1, 1_000);
  const retention = intOption(options.retention, 'retention', 7 * DAY, 1, 365 * DAY);
  const checkWindow = transactionTimeout + maxChecks * checkInterval;
  if (retention <= checkWindow) {
    // a log row deleted while its half may still be checked back would turn a commit into a rollback
    throw new InvalidOptionsError('retention', `must outlast the check-back window (transactionTimeout + maxChecks × checkInterval = ${checkWindow} ms)`);
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
    retentionCheckInterval: intOption(options.retentionCheckInterval, 'retentionCheckInterval', 3_600_000, 1_000, DAY),
    concurrency: intOption(options.concurrency, 'concurrency', 16, 1, 1_000),
    maxReconsumeTimes: intOption(options.maxReconsumeTimes, 'maxReconsumeTimes', 16, 0, 1_000),
    startListeners: boolOption(options.startListeners, 'startListeners', true),
    createTopics: boolOption(options.createTopics, 'createTopics', true),
    onLocalCommit: functionOption(options.onLocalCommit, 'onLocalCommit'),
  };
}
