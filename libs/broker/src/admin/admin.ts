import { intOption } from '../option-limits';
import type { BrokerContext } from '../broker-context';
import { HalfMessageInfo, TransactionAdmin, TransactionStats } from './transaction-admin';
import { GroupNotFoundError } from '../errors/group-not-found.error';
import { guard } from '../errors/store-errors';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import type { MessageView } from '../message';
import { consumedBy, groupProgress, resetGroupOffsets } from '../store/offsets';
import { deleteTopicRows, listQueues } from '../store/topics';
import { groupExists, groupMembers } from '../store/membership';
import { dlqMessages, messagesByKey, messagesById, msgIdsStillStored, topicMessages } from '../store/messages';
import { scheduledById } from '../store/scheduled';
import { storedCopy, toMessageView } from '../stored-message';
import { halvesStillOpen } from '../store/halves';
import { assertUserTopicName, dlqTopicOf, DLQ_PREFIX, assertGroupName, RETRY_PREFIX, retryTopicOf } from '../topic-name';
import { textProblem } from '../util/text';
import { toEpochMs } from '../util/time';
import { assertTransactionId } from '../producer/transaction-id';
import { DeliveryFailure, storedFailure } from '../failure';

export interface TopicInfo {
  name: string;
  queues: { queueId: number; minOffset: number; maxOffset: number }[];
}

export interface QueueProgress {
  topic: string;
  queueId: number;
  /** Next offset the broker will write (RocketMQ's max offset). */
  brokerOffset: number;
  /** Offset the group has committed: everything below it is consumed. */
  consumerOffset: number;
  lag: number;
  /** Member holding the queue now, if any. */
  clientId: string | null;
}

export interface GroupMember {
  clientId: string;
  host: string;
  pid: number;
  startedAt: Date;
  heartbeatAt: Date;
  queues: { topic: string; queueId: number }[];
}

/** A dead letter, with the failure that put it there. */
export interface DeadLetter extends MessageView {
  /** The last delivery's failure (null for a copy stored before Herald recorded failures). */
  lastError: DeliveryFailure | null;
}

export interface DeliveryTrace {
  /**
   * Every stored copy: the original, retries (`%RETRY%<group>`) and dead letters
   * (`%DLQ%<group>`), each copy with the failure that caused it.
   */
  stored: { topic: string; queueId: number; queueOffset: number; storedAt: Date; reconsumeTimes: number; lastError: DeliveryFailure | null }[];
  /** Per group holding offsets on the original queue: consumed past this message or not yet. */
  groups: { group: string; consumed: boolean }[];
  /** Retries waiting for their due time. */
  pendingRetries: { group: string; dueAt: Date; reconsumeTimes: number }[];
  /** Groups that dead-lettered it. */
  deadLettered: string[];
}

function assertIdList(ids: readonly string[], field: string): void {
  if (!Array.isArray(ids) || ids.length > 10_000 || ids.some((id) => typeof id !== 'string' || textProblem(id) !== null)) {
    throw new InvalidOptionsError(field, 'must be an array of at most 10 000 ids');
  }
}

/** Operations for operators and tools: topics, group progress and members, message look-ups, DLQ. */
export class Admin {
  private readonly transactions: TransactionAdmin;

  /** @internal use `broker.admin` */
  constructor(private readonly ctx: BrokerContext) {
    this.transactions = new TransactionAdmin(ctx);
  }

  /** Half messages, `pending` or `parked` (both by default), oldest first. */
  listHalfMessages(options: { state?: 'pending' | 'parked'; group?: string; limit?: number } = {}): Promise<HalfMessageInfo[]> {
    return guard('list half messages', () => this.transactions.listHalfMessages(options));
  }

  /** Commits or rolls back a half message by hand (a parked one, typically). */
  resolveHalf(transactionId: string, outcome: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    return guard('resolve half', async () => {
      assertTransactionId(transactionId);
      await this.transactions.resolveHalf(transactionId, outcome);
    });
  }

  /**
   * Which of `transactionIds` (at most 10 000) still have a half here, pending or parked:
   * a service's transaction-log rows for them must stay (`@herald/transaction` retention).
   */
  openHalfTransactionIds(transactionIds: readonly string[]): Promise<string[]> {
    return guard('list open halves', async () => {
      this.ctx.assertOpen('list open halves');
      assertIdList(transactionIds, 'transactionIds');
      return halvesStillOpen(this.ctx.pool, transactionIds);
    });
  }

  /**
   * Which of `msgIds` (at most 10 000) this broker still holds a copy of (any topic, retry,
   * DLQ, or scheduled), so could deliver again: their inbox rows must stay.
   */
  storedMessageIds(msgIds: readonly string[]): Promise<string[]> {
    return guard('look up stored messages', async () => {
      this.ctx.assertOpen('look up stored messages');
      assertIdList(msgIds, 'msgIds');
      return msgIdsStillStored(this.ctx.pool, msgIds);
    });
  }

  /** Per producer group: pending and parked halves, oldest pending age, checks performed, live members. */
  transactionStats(): Promise<TransactionStats[]> {
    return guard('transaction stats', () => this.transactions.transactionStats());
  }

  /** Creates a topic (`queues` default: the broker's defaultTopicQueues); the same count again is a no-op, another a TopicConflictError. */
  createTopic(name: string, options: { queues?: number } = {}): Promise<void> {
    return guard('create topic', async () => {
      this.ctx.assertOpen('create a topic');
      assertUserTopicName(name);
      await this.ctx.routes.create(name, options.queues ?? this.ctx.options.defaultTopicQueues);
    });
  }

  /** Deletes a topic with its messages, pending retries and offsets. Returns false if it did not exist. */
  deleteTopic(name: string): Promise<boolean> {
    return guard('delete topic', async () => {
      this.ctx.assertOpen('delete a topic');
      assertUserTopicName(name);
      this.ctx.routes.forget(name);
      return deleteTopicRows(this.ctx.pool, name);
    });
  }

  /** Every topic (the broker's `%RETRY%`/`%DLQ%` ones included) with per-queue min and max offsets. */
  listTopics(): Promise<TopicInfo[]> {
    return guard('list topics', async () => {
      const topics = new Map<string, TopicInfo>();
      for (const row of await listQueues(this.ctx.pool)) {
        let topic = topics.get(row.topic);
        if (!topic) {
          topic = { name: row.topic, queues: [] };
          topics.set(row.topic, topic);
        }
        topic.queues.push({ queueId: row.queueId, minOffset: row.minOffset, maxOffset: row.nextOffset });
      }
      return [...topics.values()];
    });
  }

  /** A group's progress per queue: broker offset, consumer offset, lag. */
  groupProgress(group: string): Promise<QueueProgress[]> {
    return guard('group progress', async () => {
      await this.assertGroup(group);
      return (await groupProgress(this.ctx.pool, group)).map((row) => {
        const brokerOffset = row.nextOffset;
        const consumerOffset = row.committedOffset;
        return {
          topic: row.topic,
          queueId: row.queueId,
          brokerOffset,
          consumerOffset,
          lag: Math.max(0, brokerOffset - consumerOffset),
          clientId: row.clientId,
        };
      });
    });
  }

  /** Live members of a group and the queues each holds. */
  groupMembers(group: string): Promise<GroupMember[]> {
    return guard('group members', async () => {
      await this.assertGroup(group);
      return (await groupMembers(this.ctx.pool, group)).map((row) => ({
        clientId: row.clientId,
        host: row.host,
        pid: row.pid,
        startedAt: row.startedAt,
        heartbeatAt: row.heartbeatAt,
        queues: row.queues,
      }));
    });
  }

  /** A message by msgId with its delivery trace, or null if the broker does not have it. */
  queryMessage(msgId: string): Promise<{ message: MessageView; trace: DeliveryTrace } | null> {
    return guard('query message', async () => {
      if (typeof msgId !== 'string' || !/^[0-9A-F]{32}$/.test(msgId)) {
        throw new InvalidOptionsError('msgId', 'must be 32 upper-case hex characters');
      }
      const rows = await messagesById(this.ctx.pool, msgId);
      const original = rows.find((row) => row.originTopic === null) ?? rows[0];
      const scheduled = await scheduledById(this.ctx.pool, msgId);
      if (!original) return null;
      const groups = original.originTopic === null ? await consumedBy(this.ctx.pool, original.topic, original.queueId, original.queueOffset) : [];
      return {
        message: toMessageView(original),
        trace: {
          stored: rows.map((row) => ({
            topic: row.topic,
            queueId: row.queueId,
            queueOffset: row.queueOffset,
            storedAt: row.storedAt,
            reconsumeTimes: row.reconsumeTimes,
            lastError: storedFailure(row.properties),
          })),
          groups: groups.map((g) => ({ group: g.group, consumed: g.consumed })),
          pendingRetries: scheduled.map((s) => ({
            group: s.topic.slice(RETRY_PREFIX.length),
            dueAt: s.dueAt,
            reconsumeTimes: s.reconsumeTimes,
          })),
          deadLettered: rows.filter((row) => row.topic.startsWith(DLQ_PREFIX)).map((row) => row.topic.slice(DLQ_PREFIX.length)),
        },
      };
    });
  }

  /** Messages in a group's dead-letter queue, oldest first, each with the failure that put it there. */
  listDlq(group: string, options: { limit?: number; fromOffset?: number } = {}): Promise<DeadLetter[]> {
    return guard('list dlq', async () => {
      await this.assertGroup(group);
      const limit = intOption(options.limit, 'limit', 100, 1, 10_000);
      const fromOffset = intOption(options.fromOffset, 'fromOffset', 0, 0, Number.MAX_SAFE_INTEGER);
      return (await topicMessages(this.ctx.pool, dlqTopicOf(group), limit, fromOffset)).map((row) => ({
        ...toMessageView(row),
        lastError: storedFailure(row.properties),
      }));
    });
  }

  /** Messages of `topic` carrying business key `key` (with their retry and DLQ copies), oldest first. */
  queryMessagesByKey(topic: string, key: string, options: { limit?: number } = {}): Promise<MessageView[]> {
    return guard('query messages by key', async () => {
      this.ctx.assertOpen('query messages');
      assertUserTopicName(topic);
      if (typeof key !== 'string' || key.length === 0) throw new InvalidOptionsError('key', 'must be a non-empty string');
      const problem = textProblem(key);
      if (problem !== null) throw new InvalidOptionsError('key', problem);
      const limit = intOption(options.limit, 'limit', 64, 1, 10_000);
      return (await messagesByKey(this.ctx.pool, topic, key, limit)).map(toMessageView);
    });
  }

  /**
   * Sends dead letters back to the group that failed them (through `%RETRY%<group>`,
   * which only that group consumes), with a fresh retry budget. The DLQ keeps its
   * copies, as RocketMQ's does. Returns how many were resent.
   */
  resendDlq(group: string, msgIds: string[] | 'all'): Promise<number> {
    return guard('resend dlq', async () => {
      await this.assertGroup(group);
      if (msgIds !== 'all' && (!Array.isArray(msgIds) || msgIds.some((id) => typeof id !== 'string'))) {
        throw new InvalidOptionsError('msgIds', "must be an array of msgIds or 'all'");
      }
      const rows = await dlqMessages(this.ctx.pool, dlqTopicOf(group), msgIds === 'all' ? null : msgIds);
      if (rows.length === 0) return 0;
      await this.ctx.appender.submit(rows.map((row) => ({ ...storedCopy(row), topic: retryTopicOf(group), reconsumeTimes: 0, delayMs: 0 })));
      return rows.length;
    });
  }

  /**
   * Moves a group's offsets on `topic` to the first message stored at or after
   * `timestamp` (Date or epoch ms). Running members pick it up without a restart.
   */
  resetOffset(group: string, topic: string, timestamp: Date | number): Promise<{ queueId: number; offset: number }[]> {
    return guard('reset offset', async () => {
      await this.assertGroup(group);
      assertUserTopicName(topic);
      const at = toEpochMs(timestamp, 'timestamp');
      await this.ctx.routes.queueCount(topic);
      const rows = await resetGroupOffsets(this.ctx.pool, group, topic, new Date(at));
      return rows;
    });
  }

  private async assertGroup(group: string): Promise<void> {
    this.ctx.assertOpen('query a group');
    assertGroupName(group);
    if (!(await groupExists(this.ctx.pool, group))) throw new GroupNotFoundError(group);
  }
}
