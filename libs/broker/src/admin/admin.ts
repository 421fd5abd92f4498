import { boolOption, intOption } from '../option-limits';
import type { BrokerContext } from '../broker-context';
import { HalfMessageInfo, TransactionAdmin, TransactionStats } from './transaction-admin';
import { guard } from '../errors/store-errors';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import type { MessageView } from '../message';
import { consumedBy } from '../store/offsets';
import { deleteTopicRows, listQueues } from '../store/topics';
import { messagesByKey, messagesById, messagesByTime, msgIdsStillStored } from '../store/messages';
import { decodeCursor, encodeCursor, MessagePage, Rate, ThroughputRates } from './query-results';
import { scheduledById } from '../store/scheduled';
import { AuditEntry, listAudit } from '../store/audit';
import { throughputRates } from '../store/throughput';
import { THROUGHPUT_KEEP_MS } from '../scheduler/throughput-sampler';
import { toMessageView } from '../stored-message';
import { halvesStillOpen } from '../store/halves';
import { assertUserTopicName, DLQ_PREFIX, RETRY_PREFIX } from '../topic-name';
import { textProblem } from '../util/text';
import { toEpochMs } from '../util/time';
import { assertTransactionId } from '../producer/transaction-id';
import { DeliveryFailure, storedFailure } from '../failure';
import { AuditTrail, defaultActor } from './audit-trail';
import { DeadLetter, DeadLetterSelection, DlqAdmin, DlqResendReport, Progress, toFilter } from './dlq-admin';
import { GroupAdmin, GroupInfo, GroupMember, OffsetReset, OffsetResetTarget, QueueProgress } from './group-admin';

export interface TopicInfo {
  name: string;
  queues: { queueId: number; minOffset: number; maxOffset: number }[];
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

/**
 * Operations for operators and tools: topics, groups (progress, members, offsets), message
 * look-ups, dead letters, half messages, and the audit log every mutation here writes to.
 */
export class Admin {
  private readonly transactions: TransactionAdmin;
  private readonly groups: GroupAdmin;
  private readonly dlq: DlqAdmin;
  private readonly audit: AuditTrail;

  /** @internal use `broker.admin` */
  constructor(
    private readonly ctx: BrokerContext,
    actor: string = defaultActor(),
  ) {
    this.transactions = new TransactionAdmin(ctx);
    this.groups = new GroupAdmin(ctx);
    this.dlq = new DlqAdmin(ctx);
    this.audit = new AuditTrail(ctx, actor);
  }

  /** Who this admin's mutations are recorded as (default: the OS user and host). */
  get actor(): string {
    return this.audit.actor;
  }

  /** The same admin, recording its mutations in the audit log as `actor` (a console user, `cli:alice`). */
  as(actor: string): Admin {
    if (typeof actor !== 'string' || actor.length === 0 || actor.length > 200 || textProblem(actor) !== null) {
      throw new InvalidOptionsError('actor', 'must be 1 to 200 characters of text');
    }
    return new Admin(this.ctx, actor);
  }

  /** The audit log, newest first; `beforeId` pages back. */
  listAudit(options: { limit?: number; beforeId?: number } = {}): Promise<AuditEntry[]> {
    return guard('list audit log', async () => {
      this.ctx.assertOpen('list the audit log');
      const limit = intOption(options.limit, 'limit', 100, 1, 10_000);
      const beforeId = options.beforeId === undefined ? null : intOption(options.beforeId, 'beforeId', 0, 1, Number.MAX_SAFE_INTEGER);
      return listAudit(this.ctx.pool, limit, beforeId);
    });
  }

  /** Half messages, `pending` or `parked` (both by default), oldest first. */
  listHalfMessages(options: { state?: 'pending' | 'parked'; group?: string; limit?: number } = {}): Promise<HalfMessageInfo[]> {
    return guard('list half messages', () => this.transactions.listHalfMessages(options));
  }

  /** Commits or rolls back a half message by hand (a parked one, typically). Audited. */
  resolveHalf(transactionId: string, outcome: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    return guard('resolve half', async () => {
      assertTransactionId(transactionId);
      await this.audit.record('half.resolve', transactionId, { outcome }, () => this.transactions.resolveHalf(transactionId, outcome));
    });
  }

  /**
   * Gives a parked half back to check-back: pending again, due now, with its checks reset
   * (after the producer's transaction log or checker was repaired). TransactionNotFoundError
   * when no parked half has that id. Audited.
   */
  recheckHalf(transactionId: string): Promise<void> {
    return guard('re-check half', async () => {
      assertTransactionId(transactionId);
      await this.audit.record('half.recheck', transactionId, {}, () => this.transactions.recheckHalf(transactionId));
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

  /** Creates a topic (`queues` default: the broker's defaultTopicQueues); the same count again is a no-op, another a TopicConflictError. Audited. */
  createTopic(name: string, options: { queues?: number } = {}): Promise<void> {
    return guard('create topic', async () => {
      this.ctx.assertOpen('create a topic');
      assertUserTopicName(name);
      const queues = options.queues ?? this.ctx.options.defaultTopicQueues;
      await this.audit.record('topic.create', name, { queues }, () => this.ctx.routes.create(name, queues));
    });
  }

  /** Deletes a topic with its messages, pending retries and offsets. Returns false if it did not exist. Audited. */
  deleteTopic(name: string): Promise<boolean> {
    return guard('delete topic', async () => {
      this.ctx.assertOpen('delete a topic');
      assertUserTopicName(name);
      this.ctx.routes.forget(name);
      return this.audit.record(
        'topic.delete',
        name,
        {},
        () => deleteTopicRows(this.ctx.pool, name),
        (existed) => ({ existed }),
      );
    });
  }

  /**
   * Messages in per topic and out per group and topic, per second over the last `windowMs`
   * (default 60 000, at most an hour), from the samples brokers take every
   * `throughputSampleInterval`.
   */
  rates(options: { windowMs?: number } = {}): Promise<ThroughputRates> {
    return guard('read rates', async () => {
      this.ctx.assertOpen('read rates');
      const windowMs = intOption(options.windowMs, 'windowMs', 60_000, 1_000, THROUGHPUT_KEEP_MS);
      const rows = await throughputRates(this.ctx.pool, windowMs);
      const rate = (r: (typeof rows)[number]): Rate => (r.spanMs === null || r.spanMs <= 0 || r.wentBack ? 'unknown' : (r.delta * 1_000) / r.spanMs);
      return {
        windowMs,
        topics: rows.filter((r) => r.kind === 'in').map((r) => ({ topic: r.topic, inPerSecond: rate(r) })),
        groups: rows.filter((r) => r.kind === 'out').map((r) => ({ group: r.group, topic: r.topic, outPerSecond: rate(r) })),
      };
    });
  }

  /** Every consumer group with its model, live members, topics, total lag and dead letters. */
  listGroups(): Promise<GroupInfo[]> {
    return guard('list groups', () => this.groups.listGroups());
  }

  /**
   * Deletes a consumer group with its offsets and its retry and dead-letter topics (their
   * messages too). Refused (IllegalStateError) while the group has live members. Returns
   * false if it did not exist. Audited.
   */
  deleteGroup(group: string): Promise<boolean> {
    return guard('delete group', () =>
      this.audit.record(
        'group.delete',
        String(group),
        {},
        () => this.groups.deleteGroup(group),
        (existed) => ({ existed }),
      ),
    );
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

  /**
   * A group's progress per queue of the topics it holds offsets on or its live members
   * subscribe to: broker and consumer offsets, lag (`unknown` with a reason when it cannot
   * be known, never negative), the age of the oldest message still to consume, the holder.
   */
  groupProgress(group: string): Promise<QueueProgress[]> {
    return guard('group progress', () => this.groups.groupProgress(group));
  }

  /** Live members of a group and the queues each holds. */
  groupMembers(group: string): Promise<GroupMember[]> {
    return guard('group members', () => this.groups.groupMembers(group));
  }

  /**
   * Messages of `topic` stored in [`from`, `to`) (default: the last hour), oldest first,
   * `limit` per page (default 50); pass `nextCursor` back as `cursor` for the next page.
   */
  queryMessagesByTime(topic: string, options: { from?: Date | number; to?: Date | number; limit?: number; cursor?: string } = {}): Promise<MessagePage> {
    return guard('query messages by time', async () => {
      this.ctx.assertOpen('query messages');
      assertUserTopicName(topic);
      const to = options.to === undefined ? Date.now() + 1 : toEpochMs(options.to, 'to');
      const from = options.from === undefined ? to - 3_600_000 : toEpochMs(options.from, 'from');
      if (from >= to) throw new InvalidOptionsError('to', 'must be after from');
      const limit = intOption(options.limit, 'limit', 50, 1, 1_000);
      const cursor = options.cursor === undefined ? null : decodeCursor(options.cursor);
      const page = await messagesByTime(this.ctx.pool, topic, new Date(from), new Date(to), cursor, limit);
      return {
        messages: page.messages.map(toMessageView),
        nextCursor: page.messages.length === limit && page.last !== null ? encodeCursor(page.last) : null,
        endCursor: page.last === null ? null : encodeCursor(page.last),
      };
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
      await this.groups.assertGroup(group);
      return this.dlq.list(group, options);
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
   * Sends dead letters back to the group that failed them (through `%RETRY%<group>`, which
   * only that group consumes), with a fresh retry budget: the given msgIds, `all`, or those
   * stored in a time range. The DLQ keeps its copies, as RocketMQ's does. Reports per
   * msgId `resent`, `not found` or `failed: <reason>`; pages through the DLQ by count and
   * bytes, calling `onProgress` after each page. Audited.
   */
  resendDlq(group: string, selection: DeadLetterSelection, options: { onProgress?: Progress } = {}): Promise<DlqResendReport> {
    return guard('resend dlq', async () => {
      await this.groups.assertGroup(group);
      const filter = toFilter(selection);
      const described =
        filter.msgIds !== null
          ? { msgIds: filter.msgIds.length }
          : selection === 'all'
            ? 'all'
            : { from: filter.from?.toISOString(), to: filter.to?.toISOString() };
      return this.audit.record(
        'dlq.resend',
        group,
        { selection: described },
        () => this.dlq.resend(group, filter, options.onProgress),
        (report) => ({ resent: report.resent, notFound: report.notFound, failed: report.failed }),
      );
    });
  }

  /**
   * A group's dead letters as NDJSON lines (one JSON object per message: ids, tag, keys,
   * properties, times, `lastError`, base64 `body`), read page by page: all, given msgIds,
   * or a time range.
   */
  exportDlq(group: string, selection: DeadLetterSelection = 'all', options: { onProgress?: Progress } = {}): AsyncIterable<string> {
    const dlq = this.dlq;
    const groups = this.groups;
    return {
      async *[Symbol.asyncIterator]() {
        await guard('export dlq', () => groups.assertGroup(group));
        const lines = dlq.export(group, selection, options.onProgress);
        for (;;) {
          const next = await guard('export dlq', () => lines.next());
          if (next.done === true) return;
          yield next.value;
        }
      },
    };
  }

  /** Deletes a group's dead letters: all, or those stored before `before`. Returns how many. Audited. */
  purgeDlq(group: string, options: { before?: Date | number; onProgress?: Progress } = {}): Promise<number> {
    return guard('purge dlq', async () => {
      await this.groups.assertGroup(group);
      const details = options.before === undefined ? {} : { before: new Date(toEpochMs(options.before, 'before')).toISOString() };
      return this.audit.record(
        'dlq.purge',
        group,
        details,
        () => this.dlq.purge(group, options.before, options.onProgress),
        (deleted) => ({ deleted }),
      );
    });
  }

  /**
   * Moves a group's offsets on `topic`: to the first message stored at or after a time
   * (Date or epoch ms), to the end (`'latest'`: lag 0), or to given offsets per queue
   * (`{ offsets: { 0: 120 } }`, clamped to what is stored). Works for online groups (running
   * members pick it up without a restart) and offline ones (the next member starts there).
   * `dryRun` only reports, per queue, from → to and how many messages would be skipped or
   * consumed again. Applying is audited.
   */
  resetOffset(group: string, topic: string, to: OffsetResetTarget, options: { dryRun?: boolean } = {}): Promise<OffsetReset> {
    return guard('reset offset', async () => {
      const dryRun = boolOption(options.dryRun, 'dryRun', false);
      const reset = await this.groups.prepareReset(group, topic, to);
      if (dryRun) return reset(true);
      const details = { topic, to: to instanceof Date ? to.toISOString() : to };
      return this.audit.record(
        'offset.reset',
        group,
        details,
        () => reset(false),
        (reset) => ({ queues: reset.queues.map((q) => ({ queueId: q.queueId, from: q.from, to: q.to })) }),
      );
    });
  }
}
