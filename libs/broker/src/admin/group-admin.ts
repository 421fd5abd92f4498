import type { BrokerContext } from '../broker-context';
import { GroupNotFoundError } from '../errors/group-not-found.error';
import { IllegalStateError } from '../errors/illegal-state.error';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { deleteGroupRows, listGroups, liveMemberCount } from '../store/groups';
import { groupExists, groupMembers } from '../store/membership';
import { groupProgress, OffsetTarget, resetOffsets } from '../store/offsets';
import { assertGroupName, assertUserTopicName } from '../topic-name';
import { toEpochMs } from '../util/time';

/** A lag that cannot be known is said so, with why; it is never negative or −1. */
export type Lag = number | 'unknown';

export interface GroupInfo {
  group: string;
  model: 'CLUSTERING' | 'BROADCASTING';
  createdAt: Date;
  liveMembers: number;
  /** Topics the group holds offsets on. */
  topics: string[];
  /** Messages still to consume, over every queue it holds an offset on. */
  lag: Lag;
  /** Why `lag` is `unknown`, else null. */
  lagUnknownReason: string | null;
  deadLetters: number;
}

export interface QueueProgress {
  topic: string;
  queueId: number;
  /** First offset still stored (retention deletes older ones). */
  minOffset: number;
  /** Next offset the broker will write (RocketMQ's max offset). */
  brokerOffset: number;
  /** Offset the group has committed: everything below it is consumed. null: it has none on this queue yet. */
  consumerOffset: number | null;
  /** Stored messages from the consumer offset on (what the group has still to consume). */
  lag: Lag;
  /** Why `lag` is `unknown`, else null. */
  lagUnknownReason: string | null;
  /** Age of the oldest message the group has still to consume, ms: 0 when caught up, null when the lag is unknown. */
  lagAgeMs: number | null;
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

/** Where `resetOffset` moves a group: a point in time, the end of each queue, or given offsets per queue. */
export type OffsetResetTarget = Date | number | 'latest' | { offsets: Record<number, number> };

export interface OffsetResetQueue {
  queueId: number;
  /** The offset before (null: the group had none on the queue). */
  from: number | null;
  /** The offset after (null: none before and none given). */
  to: number | null;
  /** Messages the group will not consume because of the move (forward). */
  skipped: number;
  /** Messages it will consume again (backward). */
  replayed: number;
}

export interface OffsetReset {
  group: string;
  topic: string;
  /** false for a dry run: nothing was written. */
  applied: boolean;
  /** Live members at the time: they pick the new offsets up without a restart; with none, the next to start does. */
  liveMembers: number;
  queues: OffsetResetQueue[];
}

function resolveTarget(to: OffsetResetTarget): OffsetTarget {
  if (to === 'latest') return { mode: 'latest' };
  if (to instanceof Date || typeof to === 'number') return { mode: 'time', at: new Date(toEpochMs(to, 'timestamp')) };
  if (to === null || typeof to !== 'object' || to.offsets === null || typeof to.offsets !== 'object') {
    throw new InvalidOptionsError('to', "must be a Date, epoch ms, 'latest' or { offsets: { <queueId>: <offset> } }");
  }
  const offsets = new Map<number, number>();
  for (const [key, value] of Object.entries(to.offsets)) {
    const queueId = Number(key);
    if (!Number.isInteger(queueId) || queueId < 0) throw new InvalidOptionsError(`to.offsets.${key}`, 'queue ids are integers from 0');
    if (!Number.isSafeInteger(value) || value < 0)
      throw new InvalidOptionsError(`to.offsets.${key}`, `must be an offset (an integer from 0), got ${String(value)}`);
    offsets.set(queueId, value);
  }
  if (offsets.size === 0) throw new InvalidOptionsError('to.offsets', 'must name at least one queue');
  return { mode: 'offsets', offsets };
}

/** Consumer groups for operators: list, progress, members, offset resets, deletion. */
export class GroupAdmin {
  constructor(private readonly ctx: BrokerContext) {}

  async assertGroup(group: string): Promise<void> {
    this.ctx.assertOpen('query a group');
    assertGroupName(group);
    if (!(await groupExists(this.ctx.pool, group))) throw new GroupNotFoundError(group);
  }

  async listGroups(): Promise<GroupInfo[]> {
    this.ctx.assertOpen('list groups');
    return (await listGroups(this.ctx.pool)).map((row) => ({
      group: row.group,
      model: row.model === 'BROADCASTING' ? 'BROADCASTING' : 'CLUSTERING',
      createdAt: row.createdAt,
      liveMembers: row.liveMembers,
      topics: row.topics,
      lag: row.queuesPastEnd > 0 ? 'unknown' : row.lag,
      lagUnknownReason: row.queuesPastEnd > 0 ? `${row.queuesPastEnd} queue(s) with an offset past the queue's end (recreated?)` : null,
      deadLetters: row.deadLetters,
    }));
  }

  async groupProgress(group: string): Promise<QueueProgress[]> {
    await this.assertGroup(group);
    return (await groupProgress(this.ctx.pool, group)).map((row) => {
      const base = {
        topic: row.topic,
        queueId: row.queueId,
        minOffset: row.minOffset,
        brokerOffset: row.nextOffset,
        consumerOffset: row.committedOffset,
        clientId: row.clientId,
      };
      if (row.committedOffset === null) {
        return { ...base, lag: 'unknown', lagUnknownReason: 'no offset yet: no member of the group has started on this queue', lagAgeMs: null };
      }
      if (row.committedOffset > row.nextOffset) {
        return {
          ...base,
          lag: 'unknown',
          lagUnknownReason: `the consumer offset ${row.committedOffset} is past the queue's end ${row.nextOffset} (recreated?)`,
          lagAgeMs: null,
        };
      }
      // messages retention deleted before the group got to them are not there to consume
      const lag = row.nextOffset - Math.max(row.committedOffset, row.minOffset);
      const lagAgeMs = lag > 0 && row.oldestUnconsumedAt !== null ? Math.max(0, row.now.getTime() - row.oldestUnconsumedAt.getTime()) : 0;
      return { ...base, lag, lagUnknownReason: null, lagAgeMs };
    });
  }

  async groupMembers(group: string): Promise<GroupMember[]> {
    await this.assertGroup(group);
    return (await groupMembers(this.ctx.pool, group)).map((row) => ({
      clientId: row.clientId,
      host: row.host,
      pid: row.pid,
      startedAt: row.startedAt,
      heartbeatAt: row.heartbeatAt,
      queues: row.queues,
    }));
  }

  /**
   * Checks a reset (the group exists, the target is valid for the topic) and returns what
   * carries it out, so bad input is refused before anything is written or audited.
   */
  async prepareReset(group: string, topic: string, to: OffsetResetTarget): Promise<(dryRun: boolean) => Promise<OffsetReset>> {
    await this.assertGroup(group);
    assertUserTopicName(topic);
    const target = resolveTarget(to);
    const queues = await this.ctx.routes.queueCount(topic);
    if (target.mode === 'offsets') {
      for (const queueId of target.offsets.keys()) {
        if (queueId >= queues) throw new InvalidOptionsError(`to.offsets.${queueId}`, `topic "${topic}" has queues 0 to ${queues - 1}`);
      }
    }
    return async (dryRun) => {
      const liveMembers = await liveMemberCount(this.ctx.pool, group);
      const moves = await resetOffsets(this.ctx.pool, group, topic, target, !dryRun);
      return {
        group,
        topic,
        applied: !dryRun,
        liveMembers,
        queues: moves.map((move) => {
          // a queue with no offset before starts where the group would have (its end, for LAST_OFFSET)
          const from = move.from ?? move.nextOffset;
          const to = move.to ?? from;
          const start = Math.max(Math.min(from, move.nextOffset), move.minOffset);
          const end = Math.max(Math.min(to, move.nextOffset), move.minOffset);
          return { queueId: move.queueId, from: move.from, to: move.to, skipped: Math.max(0, end - start), replayed: Math.max(0, start - end) };
        }),
      };
    };
  }

  /** Deletes a group with its offsets, retry and dead-letter topics; refused while it has live members. */
  async deleteGroup(group: string): Promise<boolean> {
    this.ctx.assertOpen('delete a group');
    assertGroupName(group);
    const live = await liveMemberCount(this.ctx.pool, group);
    if (live > 0) throw new IllegalStateError(`group "${group}"`, `in use by ${live} live member(s); shut them down first`, 'delete the group');
    for (const topic of [`%RETRY%${group}`, `%DLQ%${group}`]) this.ctx.routes.forget(topic);
    return deleteGroupRows(this.ctx.pool, group);
  }
}
