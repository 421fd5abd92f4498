import { hostname } from 'node:os';
import type { BrokerContext } from '../broker-context';
import { errorText } from '../logger';
import { topicQueueCounts } from '../store/topics';
import { claimQueues, heartbeat, renewQueueLocks } from '../store/membership';
import { startOffsets } from '../store/offsets';
import type { QueueOffset, StartPosition } from '../store/offsets';
import { allocateAveragely } from './allocate';
import type { ProcessQueue } from './process-queue';
import { queueKey } from '../util/keys';

export interface RebalanceHooks {
  /** The queues this member consumes now, by key. */
  owned(): ReadonlyMap<string, ProcessQueue>;
  /** Keys of queues being handed back (still finishing their handlers). */
  dropping(): ReadonlySet<string>;
  /** Takes queues granted by a claim; `leaseDeadline` (performance.now() ms) bounds acting on them until renewed. */
  adopt(claims: QueueOffset[], leaseDeadline: number): void;
  /** Stops consuming a queue; `lost`: the lock is already gone, do not commit or release. */
  drop(queue: ProcessQueue, lost: boolean): void;
  active(): boolean;
}

export interface MembershipSettings {
  group: string;
  clientId: string;
  topics: readonly string[];
  startOf: (topic: string) => StartPosition;
  consumeTimestamp: Date | null;
  /**
   * Null in CLUSTERING: the group's queues are shared under locks and offsets are
   * the group's. In BROADCASTING, the key this member's own offsets are stored
   * under (`<group>@<instanceName>`): it takes every queue, without locks.
   */
  broadcastOffsetsKey: string | null;
}

/**
 * Keeps a member in its group: renews its heartbeat and queue leases, computes its
 * share of the queues ("averagely" over the live members that subscribe to each
 * topic), hands back queues it should no longer have and claims the ones it
 * should. A queue is only claimed once its previous holder released it or its
 * lease ran out, so two members never consume one queue at the same time.
 * A broadcasting member only heartbeats (so admin lists it) and takes every queue.
 */
export class Rebalancer {
  private running: Promise<void> | null = null;
  private again = false;
  private readonly host = hostname();

  private readonly group: string;
  private readonly clientId: string;
  private readonly topics: readonly string[];

  constructor(
    private readonly ctx: BrokerContext,
    private readonly settings: MembershipSettings,
    private readonly hooks: RebalanceHooks,
  ) {
    this.group = settings.group;
    this.clientId = settings.clientId;
    this.topics = settings.topics;
  }

  /** Runs one heartbeat + rebalance; calls made while one runs coalesce into one more run. */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.syncOnce();
        } catch (error) {
          this.ctx.options.logger.log('warn', 'rebalance failed; will retry at next heartbeat', {
            group: this.group,
            clientId: this.clientId,
            error: errorText(error),
          });
        }
      } while (this.again && this.hooks.active());
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Resolves when no sync is running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async syncOnce(): Promise<void> {
    if (!this.hooks.active()) return;
    const { pool, options } = this.ctx;
    const members = await heartbeat(pool, {
      group: this.group,
      clientId: this.clientId,
      host: this.host,
      pid: process.pid,
      topics: [...this.topics],
      leaseMs: options.sessionTimeout,
    });
    if (!members.some((m) => m.clientId === this.clientId)) {
      members.push({ clientId: this.clientId, topics: [...this.topics] });
      members.sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
    }
    const broadcasting = this.settings.broadcastOffsetsKey !== null;
    const owned = [...this.hooks.owned().values()];
    const renewSentAt = performance.now();
    const held = broadcasting
      ? null
      : new Set((await renewQueueLocks(pool, this.group, this.clientId, options.sessionTimeout, owned)).map((q) => queueKey(q.topic, q.queueId)));
    for (const queue of owned) {
      if (held?.has(queue.key)) queue.extendLease(renewSentAt + this.clientLease());
      else if (held) {
        options.logger.log('warn', 'queue lock lost (lease expired); dropping queue and its buffered messages', {
          group: this.group,
          topic: queue.topic,
          queueId: queue.queueId,
        });
        this.hooks.drop(queue, true);
      }
    }
    if (!this.hooks.active()) return;

    const counts = await topicQueueCounts(pool, this.topics);
    const desired = new Map<string, { topic: string; queueId: number; start: StartPosition }>();
    for (const topic of this.topics) {
      const count = counts.get(topic) ?? 0;
      const subscribers = members.filter((m) => m.topics.includes(topic)).map((m) => m.clientId);
      const mine = broadcasting ? Array.from({ length: count }, (_, i) => i) : allocateAveragely(count, subscribers, this.clientId);
      for (const queueId of mine) desired.set(queueKey(topic, queueId), { topic, queueId, start: this.settings.startOf(topic) });
    }
    for (const queue of [...this.hooks.owned().values()]) {
      if (!desired.has(queue.key)) this.hooks.drop(queue, false);
    }
    const current = this.hooks.owned();
    const dropping = this.hooks.dropping();
    const wanted = [...desired.entries()].filter(([key]) => !current.has(key) && !dropping.has(key)).map(([, q]) => q);
    if (wanted.length === 0 || !this.hooks.active()) return;
    const claimSentAt = performance.now();
    const granted = broadcasting
      ? wanted
      : new Set((await claimQueues(pool, this.group, this.clientId, options.sessionTimeout, wanted)).map((q) => queueKey(q.topic, q.queueId)));
    const adopted = granted instanceof Set ? wanted.filter((q) => granted.has(queueKey(q.topic, q.queueId))) : granted;
    if (adopted.length === 0 || !this.hooks.active()) return;
    const { consumeTimestamp } = this.settings;
    const offsets = await startOffsets(
      pool,
      this.settings.broadcastOffsetsKey ?? this.group,
      adopted,
      consumeTimestamp === null ? null : { at: consumeTimestamp },
    );
    if (this.hooks.active()) {
      this.hooks.adopt(offsets, broadcasting ? Number.POSITIVE_INFINITY : claimSentAt + this.clientLease());
      this.ctx.metrics?.rebalanced(this.group);
    }
  }

  /** Half the server's lease, counted from when the request was sent: it ends before anyone else can claim. */
  private clientLease(): number {
    return this.ctx.options.sessionTimeout / 2;
  }
}
