import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { BrokerContext } from '../broker-context';
import { IllegalStateError } from '../errors/illegal-state.error';
import { errorText } from '../logger';
import { registerGroup } from '../store/admin-statements';
import { commitOffsets, fetchBodies, leaveGroup, PulledRow, pullMessages, QueueOffset, releaseQueueLocks } from '../store/statements';
import { dlqTopicOf, RETRY_PREFIX, retryTopicOf } from '../topic-name';
import { trackResource, untrackResource } from '../util/resources';
import { WakeSignal } from '../util/wake-signal';
import { MessageDispatcher } from './message-dispatcher';
import { ProcessQueue } from './process-queue';
import { EVERYTHING, PushConsumerOptions, ResolvedPushConsumerOptions, resolvePushConsumerOptions } from './push-consumer-options';
import { queueKey, Rebalancer } from './rebalancer';
import { RetrySender } from './retry-sender';

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
    const { group, model, orderly } = this.options;
    this.group = group;
    this.clientId = `${hostname()}@${process.pid}@${randomBytes(4).toString('hex')}`;
    const broadcasting = model === 'BROADCASTING';
    this.offsetsKey = broadcasting ? `${group}@${this.options.instanceName}` : group;
    this.lockHolder = broadcasting ? null : this.clientId;
    // Only concurrent clustering hands failures to %RETRY%<group>; the others retry in place.
    const usesRetryTopic = !broadcasting && !orderly;
    this.dispatcher = new MessageDispatcher(
      ctx,
      {
        group,
        handler: this.options.handler,
        concurrency: this.options.concurrency,
        maxReconsumeTimes: this.options.maxReconsumeTimes,
        failureMode: usesRetryTopic ? 'retry-topic' : orderly ? 'in-place-orderly' : 'in-place',
        suspendTime: this.options.orderlySuspendTime,
      },
      new RetrySender(ctx, group, this.options.maxReconsumeTimes),
      () => this.queues.values(),
      (queue) => {
        this.dirty.add(queue);
        this.signal.wake();
      },
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
        adopt: (claims) => this.adopt(claims),
        drop: (queue, lost) => this.drop(queue, lost),
        active: () => this.state === 'starting' || this.state === 'running',
      },
    );
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new IllegalStateError(`consumer of group "${this.group}"`, this.state, 'start');
    this.ctx.assertOpen('start a consumer');
    this.state = 'starting';
    try {
      for (const topic of this.options.subscriptions.keys()) await this.ctx.routes.queueCount(topic);
      await registerGroup(this.ctx.pool, this.group, this.options.model);
      await this.ctx.routes.create(retryTopicOf(this.group), 1);
      await this.ctx.routes.create(dlqTopicOf(this.group), 1);
    } catch (error) {
      this.state = 'stopped';
      this.onStopped(this);
      throw error;
    }
    trackResource(this, `PushConsumer(group=${this.group}, client=${this.clientId})`);
    this.unsubscribers.push(
      this.ctx.listener.subscribe(this.ctx.channels.messages, (topic) => this.onMessagesArrived(topic)),
      this.ctx.listener.subscribe(this.ctx.channels.groups, (group) => {
        if (group === this.group || group === '*') void this.rebalancer.sync();
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

  /** Stops taking work, waits for running handlers, stores offsets and leaves the group. */
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
    for (const queue of [...this.queues.values()]) this.drop(queue, false);
    await this.dispatcher.stop(this.options.shutdownTimeout);
    await this.settle([...this.drops], this.options.shutdownTimeout);
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

  private async settle(promises: Promise<void>[], timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled(promises), timeout]);
    clearTimeout(timer);
  }

  private onMessagesArrived(topic: string): void {
    let woke = false;
    for (const queue of this.queues.values()) {
      if (topic === '*' || queue.topic === topic) {
        queue.mayHaveMore = true;
        queue.wakeups += 1;
        woke = true;
      }
    }
    if (woke) this.signal.wake();
  }

  private adopt(claims: QueueOffset[]): void {
    for (const claim of claims) {
      const key = queueKey(claim.topic, claim.queueId);
      if (this.queues.has(key)) continue;
      // retries were filtered when first delivered
      const subscription = claim.topic.startsWith(RETRY_PREFIX) ? EVERYTHING : (this.options.subscriptions.get(claim.topic) ?? EVERYTHING);
      this.queues.set(key, new ProcessQueue(claim.topic, claim.queueId, subscription, claim.offset));
    }
    if (claims.length > 0) this.signal.wake();
  }

  /** Hands a queue back: drops its unstarted messages, lets running ones finish, commits, releases. */
  private drop(queue: ProcessQueue, lost: boolean): void {
    if (queue.dropped) return;
    queue.dropped = true;
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
      const candidates =
        this.dispatcher.waiting < concurrency
          ? [...this.queues.values()].filter((q) => q.mayHaveMore && q.outstanding < MAX_OUTSTANDING_PER_QUEUE)
          : [];
      if (candidates.length > 0) {
        await this.pull(candidates, pullBatchSize);
        continue;
      }
      const woken = await this.signal.wait(this.ctx.options.pollInterval);
      // Fallback poll: a notification may have been lost, so look at every queue.
      if (!woken) for (const queue of this.queues.values()) queue.mayHaveMore = true;
    }
  }

  private async pull(candidates: ProcessQueue[], batchSize: number): Promise<void> {
    const wakeups = candidates.map((q) => q.wakeups);
    const byKey = new Map(candidates.map((q) => [q.key, q]));
    let rows: PulledRow[];
    let bodies: Map<string, Buffer> | null = null;
    try {
      rows = await pullMessages(
        this.ctx.pool,
        candidates.map((q) => ({
          topic: q.topic,
          queueId: q.queueId,
          fromOffset: q.nextPullOffset,
          maxMessages: batchSize,
          tags: q.subscription.tags,
          withBody: q.subscription.sql === null,
        })),
      );
      // SQL filters run on properties alone; only the bodies of rows they keep are fetched.
      const wanted = rows.filter(
        (row) =>
          row.matched &&
          row.body === null &&
          byKey.get(queueKey(row.topic, row.queue_id))?.subscription.sql?.matches({ properties: row.properties ?? {}, tag: row.tag }),
      );
      if (wanted.length > 0) {
        bodies = await fetchBodies(this.ctx.pool, wanted.map((row) => ({ topic: row.topic, queueId: row.queue_id, offset: Number(row.queue_offset) })));
      }
    } catch (error) {
      this.ctx.options.logger.log('warn', 'pull failed; retrying', { group: this.group, error: errorText(error) });
      await this.signal.wait(Math.min(1_000, this.ctx.options.pollInterval));
      return;
    }
    const counts = new Map<ProcessQueue, number>();
    for (const row of rows) {
      const queue = byKey.get(queueKey(row.topic, row.queue_id));
      if (!queue || queue.dropped) continue;
      const offset = Number(row.queue_offset);
      if (offset < queue.nextPullOffset) continue;
      counts.set(queue, (counts.get(queue) ?? 0) + 1);
      queue.track(offset);
      const body = row.body ?? bodies?.get(`${row.topic}\u0000${row.queue_id}\u0000${row.queue_offset}`) ?? null;
      if (body === null) {
        // filtered out (tag or SQL): nothing to run, only the offset to pass
        queue.finish(offset);
        this.dirty.add(queue);
      } else {
        this.dispatcher.add(queue, { ...row, body });
      }
    }
    candidates.forEach((queue, i) => {
      if ((counts.get(queue) ?? 0) < batchSize && queue.wakeups === wakeups[i]) queue.mayHaveMore = false;
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
    const changed = queues
      .map((queue) => ({ queue, offset: queue.offsetToCommit() }))
      .filter(({ queue, offset }) => offset > queue.committedOffset);
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
    for (const { queue, offset } of changed) queue.committedOffset = Math.max(queue.committedOffset, offset);
  }
}
