import { boolOption, intOption, limitedOption, OPTION_LIMITS } from '../option-limits';
import { hostname } from 'node:os';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import type { MessageView } from '../message';
import { assertUserTopicName, assertGroupName } from '../topic-name';
import { SqlFilter } from '../filter/sql-filter';
import { toEpochMs } from '../util/time';
import { parseTagExpression } from './tag-expression';

/** What a handler may return: nothing or `'SUCCESS'` acknowledges, `'RETRY'` (or a throw) retries. */
export type ConsumeResult = 'SUCCESS' | 'RETRY';
export type MessageHandler = (message: MessageView) => Promise<ConsumeResult | void> | ConsumeResult | void;

export type ConsumeFromWhere = 'LAST_OFFSET' | 'FIRST_OFFSET' | 'TIMESTAMP';

/** A tag expression (`*`, `TagA || TagB`) or an SQL92 filter over message properties. */
export type SubscriptionExpression = string | { sql: string };

/** A validated subscription: tags are matched in the broker's query, an SQL filter on properties before bodies are fetched. */
export interface Subscription {
  /** `||`-joined tags, or null for every tag. */
  tags: string | null;
  sql: SqlFilter | null;
}

export const EVERYTHING: Subscription = { tags: null, sql: null };

export function resolveSubscription(expression: SubscriptionExpression): Subscription {
  if (expression !== null && typeof expression === 'object' && 'sql' in expression) {
    return { tags: null, sql: new SqlFilter(expression.sql) };
  }
  const tags = parseTagExpression(expression);
  return { tags: tags === null ? null : tags.join('||'), sql: null };
}

export interface PushConsumerOptions {
  /** Consumer group: the consumers of one service. Required. */
  group: string;
  /** Topic → tag expression (`*`, `TagA`, `TagA || TagB`) or `{ sql: "region = 'eu'" }`. Required, at least one topic. */
  subscriptions: Record<string, SubscriptionExpression>;
  /** Called once per delivered message. Required. */
  handler: MessageHandler;
  /** `CLUSTERING` (default): each message to one member of the group. `BROADCASTING`: to every member. */
  model?: 'CLUSTERING' | 'BROADCASTING';
  /** Consume each queue one message at a time, in order; a failure retries in place. CLUSTERING only. Default false. */
  orderly?: boolean;
  /** Orderly: how long a queue pauses before retrying its failed message, ms. Default 1 000 (RocketMQ's). */
  orderlySuspendTime?: number;
  /** BROADCASTING: this member's stable name; its offsets are kept under it, so a restart resumes. Default: the host name. */
  instanceName?: string;
  /** Handlers running at once in this member. Default 16. */
  concurrency?: number;
  /** Retries before a message goes to `%DLQ%<group>`. Default 16. */
  maxReconsumeTimes?: number;
  /** Where a group with no stored offset starts: `LAST_OFFSET` (default, only new messages), `FIRST_OFFSET`, or `TIMESTAMP`. */
  consumeFromWhere?: ConsumeFromWhere;
  /** With `TIMESTAMP`: the first message stored at or after this time (Date or epoch ms). Required then. */
  consumeTimestamp?: Date | number;
  /** Messages read per queue in one pull. Default 32. */
  pullBatchSize?: number;
  /** How often finished offsets are stored, ms. Default 1 000 (and always on shutdown and rebalance). */
  offsetCommitInterval?: number;
  /** How long `shutdown()` waits for running handlers and final offset commits before it leaves the group anyway, ms. Default 30 000. */
  shutdownTimeout?: number;
  /**
   * A handler running longer than this counts as failed: the message goes to the
   * retry schedule (or is retried in place) and its slot is freed, ms. The late
   * handler is not cancelled (JavaScript cannot), its outcome is ignored. Default
   * 900 000 (15 minutes, RocketMQ's consumeTimeout).
   */
  consumeTimeout?: number;
  /**
   * Most message bytes this consumer holds pulled but not finished; above it, pulling
   * pauses (RocketMQ's pullThresholdSizeForQueue, here for the whole consumer). Default 100 MiB.
   */
  maxBufferedBytes?: number;
}

export interface ResolvedPushConsumerOptions {
  group: string;
  model: 'CLUSTERING' | 'BROADCASTING';
  orderly: boolean;
  orderlySuspendTime: number;
  instanceName: string;
  subscriptions: Map<string, Subscription>;
  handler: MessageHandler;
  concurrency: number;
  maxReconsumeTimes: number;
  consumeFromWhere: ConsumeFromWhere;
  consumeTimestamp: Date | null;
  pullBatchSize: number;
  offsetCommitInterval: number;
  shutdownTimeout: number;
  consumeTimeout: number;
  maxBufferedBytes: number;
}

export function resolvePushConsumerOptions(options: PushConsumerOptions): ResolvedPushConsumerOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be an object');
  assertGroupName(options.group);
  if (typeof options.handler !== 'function') throw new InvalidOptionsError('handler', 'must be a function');
  const model = options.model ?? 'CLUSTERING';
  if (model !== 'CLUSTERING' && model !== 'BROADCASTING') {
    throw new InvalidOptionsError('model', `must be 'CLUSTERING' or 'BROADCASTING' (got ${JSON.stringify(model)})`);
  }
  const orderly = boolOption(options.orderly, 'orderly', false);
  if (orderly && model === 'BROADCASTING') {
    throw new InvalidOptionsError('orderly', 'ordered consumption needs CLUSTERING: a queue is consumed by one member at a time');
  }
  const instanceName = options.instanceName ?? hostname();
  if (typeof instanceName !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(instanceName)) {
    throw new InvalidOptionsError('instanceName', 'must match ^[A-Za-z0-9_.:-]{1,100}$');
  }
  const raw = options.subscriptions;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || Object.keys(raw).length === 0) {
    throw new InvalidOptionsError('subscriptions', 'must map at least one topic to a tag expression');
  }
  const subscriptions = new Map<string, Subscription>();
  for (const [topic, expression] of Object.entries(raw)) {
    assertUserTopicName(topic);
    subscriptions.set(topic, resolveSubscription(expression));
  }
  const consumeFromWhere = options.consumeFromWhere ?? 'LAST_OFFSET';
  if (consumeFromWhere !== 'LAST_OFFSET' && consumeFromWhere !== 'FIRST_OFFSET' && consumeFromWhere !== 'TIMESTAMP') {
    throw new InvalidOptionsError('consumeFromWhere', "must be 'LAST_OFFSET', 'FIRST_OFFSET' or 'TIMESTAMP'");
  }
  if (consumeFromWhere === 'TIMESTAMP' && options.consumeTimestamp === undefined) {
    throw new InvalidOptionsError('consumeTimestamp', "is required with consumeFromWhere 'TIMESTAMP'");
  }
  const consumeTimestamp = options.consumeTimestamp === undefined ? null : new Date(toEpochMs(options.consumeTimestamp, 'consumeTimestamp'));
  return {
    group: options.group,
    model,
    orderly,
    orderlySuspendTime: intOption(options.orderlySuspendTime, 'orderlySuspendTime', 1_000, 0, 3_600_000),
    instanceName,
    subscriptions,
    handler: options.handler,
    concurrency: limitedOption(options.concurrency, 'concurrency', OPTION_LIMITS.concurrency),
    maxReconsumeTimes: limitedOption(options.maxReconsumeTimes, 'maxReconsumeTimes', OPTION_LIMITS.maxReconsumeTimes),
    consumeFromWhere,
    consumeTimestamp,
    pullBatchSize: intOption(options.pullBatchSize, 'pullBatchSize', 32, 1, 1_024),
    offsetCommitInterval: intOption(options.offsetCommitInterval, 'offsetCommitInterval', 1_000, 1, 600_000),
    shutdownTimeout: intOption(options.shutdownTimeout, 'shutdownTimeout', 30_000, 0, 3_600_000),
    consumeTimeout: intOption(options.consumeTimeout, 'consumeTimeout', 900_000, 1, 86_400_000),
    maxBufferedBytes: intOption(options.maxBufferedBytes, 'maxBufferedBytes', 100 * 1024 * 1024, 1, 64 * 1024 * 1024 * 1024),
  };
}
