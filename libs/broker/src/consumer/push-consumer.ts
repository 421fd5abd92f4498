import { decodeGroupChange, decodeMessages } from '../store/notifications';
import type { BrokerContext } from '../broker-context';
import { IllegalStateError } from '../errors/illegal-state.error';
import { guard } from '../errors/store-errors';
import { errorText } from '../logger';
import { registerGroup } from '../store/membership';
import { commitOffsets } from '../store/offsets';
import { leaveGroup, releaseQueueLocks } from '../store/membership';
import type { QueueOffset } from '../store/offsets';
import { fetchBodies, pullMessages } from '../store/messages';
import type { PulledMessage } from '../store/messages';
import { dlqTopicOf, RETRY_PREFIX, retryTopicOf } from '../topic-name';
import { trackResource, untrackResource } from '../util/resources';
import { settleWithin } from '../util/timeout';
import { WakeSignal } from '../util/wake-signal';
import { consumeStrategyFor } from './consume-strategy';
import { MessageDispatcher } from './message-dispatcher';
import { ProcessQueue } from './process-queue';
import { EVERYTHING, PushConsumerOptions, ResolvedPushConsumerOptions, resolvePushConsumerOptions } from './push-consumer-options';
import { Rebalancer } from './rebalancer';
import { RetrySender } from './retry-sender';
import { broadcastMemberKey, messageKey, newClientId, queueKey } from '../util/keys';

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Messages a member may hold per queue (pulled, not finished): RocketMQ's pullThresholdForQueue. */
const MAX_OUTSTANDING_PER_QUEUE = 1_000;

/**
 * A push consumer. CLUSTERING: the group's queues are shared among its live
 * members (one member per queue at a time); BROADCASTING: every member reads every
 * queue with offsets of its own. Messages are pulled in batches (woken by
 * LISTEN/NOTIFY), handlers run with bounded concurrency (one at a time per queue
 * when orderly), and a queue's offset moves only past finished messages.
 */
export class PushConsumer {
  readonly group: string;
  /** This member's id in the group (host@pid@random). */
  readonly clientId: string;
  private readonly options: ResolvedPushConsumerOptions;
  private state: State = 'created';
  private readonly queues = new Map<string, ProcessQueue>();
  private readonly droppingKeys = new Set<string>();
  private readonly drops = new Set<Promise<void>>();
  private readonly dirty = new Set<ProcessQueue>();
  private readonly leaseChecks = new Set<ProcessQueue>();
  private readonly signal = new WakeSignal();
  private readonly dispatcher: MessageDispatcher;
  private readonly rebalancer: Rebalancer;
  /** Where offsets are stored: the group, or `<group>@<instanceName>` for a broadcasting member. */
  private readonly offsetsKey: string;
  /** The member whose queue locks a commit must hold; null when broadcasting (no locks). */
  private readonly lockHolder: string | null;
  private loop: Promise<void> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribers: (() => void)[] = [];
  private committing: Promise<void> | null = null;

  /** @internal use `broker.pushConsumer(...)` */
  constructor(
    private readonly ctx: BrokerContext,
    options: PushConsumerOptions,
    private readonly onStopped: (consumer: PushConsumer) => void,
  ) {
    this.options = resolvePushConsumerOptions(options);
    const { group, model } = this.options;
    this.group = group;
    this.clientId = newClientId();
    const broadcasting = model === 'BROADCASTING';
    this.offsetsKey = broadcasting ? broadcastMemberKey(group, this.options.instanceName) : group;
    this.lockHolder = broadcasting ? null : this.clientId;
    const retrySender = new RetrySender(ctx, group, this.options.maxReconsumeTimes);
    const strategy = consumeStrategyFor(this.options, (retry) => retrySender.delayOf(retry));
    // Only concurrent clustering hands failures to %RETRY%<group>; the others retry in place.
    const usesRetryTopic = strategy.usesRetryTopic;
    this.dispatcher = new MessageDispatcher(
      ctx,
      {
        group,
        handler: this.options.handler,
        concurrency: this.options.concurrency,
        strategy,
        consumeTimeout: this.options.consumeTimeout,
      },
      retrySender,
      () => this.queues.values(),
      (queue) => {
        this.dirty.add(queue);
        this.signal.wake();
      },
      (queue) => this.onLeaseLapsed(queue),
    );
    const topics = [...this.options.subscriptions.keys(), ...(usesRetryTopic ? [retryTopicOf(group)] : [])];
    this.rebalancer = new Rebalancer(
      ctx,
      {
        group,
        clientId: this.clientId,
        topics,
        startOf: (topic) => (topic.startsWith(RETRY_PREFIX) ? 'FIRST_OFFSET' : this.options.consumeFromWhere),
        consumeTimestamp: this.options.consumeTimestamp,
        broadcastOffsetsKey: broadcasting ? this.offsetsKey : null,
      },
      {
        owned: () => this.queues,
        dropping: () => this.droppingKeys,
        adopt: (claims, leaseDeadline) => this.adopt(claims, leaseDeadline),
        drop: (queue, lost) => this.drop(queue, lost),
        active: () => this.state === 'starting' || this.state === 'running',
      },
    );
  }

  /** @internal for the in-flight gauge: messages pulled and not finished, per topic. */
  inflight(): { group: string; topic: string; count: number }[] {
    const byTopic = new Map<string, number>();
    for (const queue of this.queues.values()) byTopic.set(queue.topic, (byTopic.get(queue.topic) ?? 0) + queue.outstanding);
    return [...byTopic].map(([topic, count]) => ({ group: this.group, topic, count }));
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new IllegalStateError(`consumer of group "${this.group}"`, this.state, 'start');
    this.ctx.assertOpen('start a consumer');
    this.state = 'starting';
    try {
      await guard('start a consumer', async () => {
        for (const topic of this.options.subscriptions.keys()) await this.ctx.routes.queueCount(topic);
        await registerGroup(this.ctx.pool, this.group, this.options.model);
        await this.ctx.routes.create(retryTopicOf(this.group), 1);
        await this.ctx.routes.create(dlqTopicOf(this.group), 1);
      });
    } catch (error) {
      this.state = 'stopped';
      this.onStopped(this);
      throw error;
    }
    trackResource(this, `PushConsumer(group=${this.group}, client=${this.clientId})`);
    this.unsubscribers.push(
      this.ctx.listener.subscribe(this.ctx.channels.messages, (payload) => this.onMessagesArrived(decodeMessages(payload))),
      this.ctx.listener.subscribe(this.ctx.channels.groups, (payload) => {
        const group = decodeGroupChange(payload);
        if (group === null || group === this.group) void this.rebalancer.sync();
      }),
    );
    await this.rebalancer.sync();
    this.state = 'running';
    const { heartbeatInterval } = this.ctx.options;
    this.timers.push(
      setInterval(() => void this.rebalancer.sync(), heartbeatInterval),
      setInterval(() => void this.commit(), this.options.offsetCommitInterval),
    );
    this.loop = this.pullLoop();
  }

  /**
   * Stops taking work, waits up to `shutdownTimeout` for running handlers and the
   * final offset commits, then leaves the group whatever is left (logged: what did
   * not finish is delivered again, to this group, later).
   */
  async shutdown(): Promise<void> {
    if (this.state === 'created') {
      this.state = 'stopped';
      this.onStopped(this);
      return;
    }
    if (this.state !== 'running') return;
    this.state = 'stopping';
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.unsubscribers = [];
    this.signal.wake();
    await this.loop;
    await this.rebalancer.idle();
    const deadline = performance.now() + this.options.shutdownTimeout;
    for (const queue of [...this.queues.values()]) this.drop(queue, false);
    await this.dispatcher.stop(this.options.shutdownTimeout);
    const drained = await settleWithin([...this.drops], Math.max(0, deadline - performance.now()));
    if (!drained) {
      this.ctx.options.logger.log('warn', 'shutdown timed out; leaving the group with work unfinished (it will be delivered again)', {
        group: this.group,
        clientId: this.clientId,
        shutdownTimeout: this.options.shutdownTimeout,
        runningHandlers: this.dispatcher.running,
        queuesNotCommitted: this.drops.size,
      });
    }
    try {
      await leaveGroup(this.ctx.pool, this.group, this.clientId);
    } catch (error) {
      this.ctx.options.logger.log('warn', 'leaving the group failed; its leases will expire', {
        group: this.group,
        clientId: this.clientId,
        error: errorText(error),
      });
    }
    this.state = 'stopped';
    untrackResource(this);
    this.onStopped(this);
  }

  /**
   * A queue's client lease ran out before a dispatch (a stall, or renewals too slow):
   * nothing of it runs until a renewal says whether this member still holds the lock.
   * If another member took it, the rebalancer drops it as lost, buffer and all.
   */
  private onLeaseLapsed(queue: ProcessQueue): void {
    if (this.leaseChecks.has(queue)) return;
    this.leaseChecks.add(queue);
    this.ctx.options.logger.log('info', 'queue lease lapsed on this side; holding its messages until the lock is renewed', {
      group: this.group,
      topic: queue.topic,
      queueId: queue.queueId,
      clientId: this.clientId,
    });
    void this.rebalancer.sync().then(() => {
      this.leaseChecks.delete(queue);
      this.dispatcher.pump();
      this.signal.wake();
    });
  }

  /** `topic` null: every topic may have new messages (the listener reconnected). */
  private onMessagesArrived(topic: string | null): void {
    let woke = false;
    for (const queue of this.queues.values()) {
      if (topic === null || queue.topic === topic) {
        queue.wake();
        woke = true;
      }
    }
    if (woke) this.signal.wake();
  }

  private adopt(claims: QueueOffset[], leaseDeadline: number): void {
    for (const claim of claims) {
      const key = queueKey(claim.topic, claim.queueId);
      if (this.queues.has(key)) continue;
      // retries were filtered when first delivered
      const subscription = claim.topic.startsWith(RETRY_PREFIX) ? EVERYTHING : (this.options.subscriptions.get(claim.topic) ?? EVERYTHING);
      const queue = new ProcessQueue(claim.topic, claim.queueId, subscription, claim.offset);
      queue.setLease(leaseDeadline);
      this.queues.set(key, queue);
    }
    if (claims.length > 0) this.signal.wake();
  }

  /** Hands a queue back: drops its unstarted messages, lets running ones finish, commits, releases. */
  private drop(queue: ProcessQueue, lost: boolean): void {
    if (!queue.markDropped()) return;
    this.queues.delete(queue.key);
    this.droppingKeys.add(queue.key);
    this.dispatcher.abandon(queue);
    const done = (async () => {
      await queue.idle();
      if (lost) return;
      try {
        await this.commitQueues([queue]);
        if (this.lockHolder !== null) await releaseQueueLocks(this.ctx.pool, this.group, this.lockHolder, [queue]);
      } catch (error) {
        this.ctx.options.logger.log('warn', 'releasing a queue failed; its lease will expire', {
          group: this.group,
          topic: queue.topic,
          queueId: queue.queueId,
          error: errorText(error),
        });
      }
    })().finally(() => {
      this.droppingKeys.delete(queue.key);
      this.drops.delete(done);
      this.dirty.delete(queue);
    });
    this.drops.add(done);
  }

  private async pullLoop(): Promise<void> {
    const { concurrency, pullBatchSize } = this.options;
    while (this.state === 'running') {
      const now = performance.now();
      const candidates =
        this.dispatcher.waiting < concurrency && this.bufferedBytes() < this.options.maxBufferedBytes
          ? [...this.queues.values()].filter((q) => q.mayHaveMore && q.outstanding < MAX_OUTSTANDING_PER_QUEUE && q.leaseValid(now))
          : [];
      if (candidates.length > 0) {
        await this.pull(candidates, pullBatchSize, this.options.maxBufferedBytes - this.bufferedBytes());
        continue;
      }
      const woken = await this.signal.wait(this.ctx.options.pollInterval);
      // Fallback poll: a notification may have been lost, so look at every queue.
      if (!woken) for (const queue of this.queues.values()) queue.wake();
    }
  }

  private bufferedBytes(): number {
    let bytes = 0;
    for (const queue of this.queues.values()) bytes += queue.bufferedBytes;
    return bytes;
  }

  private async pull(candidates: ProcessQueue[], batchSize: number, byteRoom: number): Promise<void> {
    const maxBytes = Math.max(1, Math.floor(byteRoom / candidates.length));
    const wakeups = candidates.map((q) => q.wakeups);
    const byKey = new Map(candidates.map((q) => [q.key, q]));
    let rows: PulledMessage[];
    let bodies: Map<string, Buffer> | null = null;
    try {
      rows = await pullMessages(
        this.ctx.pool,
        candidates.map((q) => ({
          topic: q.topic,
          queueId: q.queueId,
          fromOffset: q.nextPullOffset,
          maxMessages: batchSize,
          maxBytes,
          tags: q.subscription.tags,
          withBody: q.subscription.sql === null,
        })),
      );
      // SQL filters run on properties alone; only the bodies of rows they keep are fetched.
      const wanted = rows
        .filter(
          ({ matched, message: m }) =>
            matched && m.body === null && byKey.get(queueKey(m.topic, m.queueId))?.subscription.sql?.matches({ properties: m.properties ?? {}, tag: m.tag }),
        )
        .map(({ message }) => message);
      if (wanted.length > 0) {
        bodies = await fetchBodies(
          this.ctx.pool,
          wanted.map((m) => ({ topic: m.topic, queueId: m.queueId, offset: m.queueOffset })),
        );
      }
    } catch (error) {
      this.ctx.options.logger.log('warn', 'pull failed; retrying', { group: this.group, error: errorText(error) });
      await this.signal.wait(Math.min(1_000, this.ctx.options.pollInterval));
      return;
    }
    const counts = new Map<ProcessQueue, number>();
    const cut = new Set<ProcessQueue>();
    for (const { message: row, cut: cutHere } of rows) {
      const queue = byKey.get(queueKey(row.topic, row.queueId));
      if (!queue || queue.dropped) continue;
      if (cutHere) cut.add(queue);
      const offset = row.queueOffset;
      if (offset < queue.nextPullOffset) continue;
      counts.set(queue, (counts.get(queue) ?? 0) + 1);
      const body = row.body ?? bodies?.get(messageKey(row.topic, row.queueId, row.queueOffset)) ?? null;
      queue.track(offset, body?.length ?? 0);
      if (body === null) {
        // filtered out (tag or SQL): nothing to run, only the offset to pass
        queue.finish(offset);
        this.dirty.add(queue);
      } else {
        // the pulled object is this consumer's own: the fetched body goes in place
        row.body = body;
        this.dispatcher.add(queue, row);
      }
    }
    candidates.forEach((queue, i) => {
      if ((counts.get(queue) ?? 0) < batchSize && !cut.has(queue)) queue.pulledAll(wakeups[i]);
    });
    this.dispatcher.pump();
  }

  private commit(): Promise<void> {
    if (this.committing) return this.committing;
    const queues = [...this.dirty].filter((q) => !q.dropped);
    this.committing = this.commitQueues(queues)
      .catch((error: unknown) => {
        this.ctx.options.logger.log('warn', 'offset commit failed; will retry', { group: this.group, error: errorText(error) });
      })
      .finally(() => {
        this.committing = null;
      });
    return this.committing;
  }

  private async commitQueues(queues: ProcessQueue[]): Promise<void> {
    // Commits are fenced by the server: commitOffsets stores an offset only while this
    // member still holds the queue's lock (nobody else consumed it meanwhile), even if
    // its lease lapsed; dispatches are fenced here, by the client lease (see pump).
    const changed = queues.map((queue) => ({ queue, offset: queue.offsetToCommit() })).filter(({ queue, offset }) => offset > queue.committedOffset);
    for (const { queue } of changed) this.dirty.delete(queue);
    if (changed.length === 0) return;
    try {
      await commitOffsets(
        this.ctx.pool,
        this.offsetsKey,
        this.lockHolder,
        changed.map(({ queue, offset }) => ({ topic: queue.topic, queueId: queue.queueId, offset })),
      );
    } catch (error) {
      for (const { queue } of changed) this.dirty.add(queue);
      throw error;
    }
    for (const { queue, offset } of changed) queue.markCommitted(offset);
  }
}
