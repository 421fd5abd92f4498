import { IllegalStateError, MessageView } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, queryStore, uniqueName, useBrokers } from './helpers';
import { backgroundJobs } from '@herald/broker/internal';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

/** For the hand-driven scheduler test: short, so "a pass would have happened" comes soon. */
const POLL_INTERVAL = 200;

describe('lifecycle', () => {
  it('shutdown waits for running handlers and commits their offsets, so nothing is redelivered', async () => {
    const broker = await openBroker();
    const topic = uniqueName('drain');
    const group = uniqueName('drainers');
    await broker.admin.createTopic(topic, { queues: 1 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    let finished = 0;
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      concurrency: 4,
      offsetCommitInterval: 600_000,
      handler: async () => {
        started += 1;
        await gate;
        finished += 1;
      },
    });
    await consumer.start();
    await broker.producer({ group: 'p' }).sendBatch(Array.from({ length: 4 }, (_, i) => ({ topic, body: `m${i}` })));
    await waitFor(() => started === 4, { what: 'four handlers running' });
    let stopped = false;
    const stopping = consumer.shutdown().then(() => {
      stopped = true;
    });
    // Shutdown stops heartbeating at once and leaves the group (deleting its member row) only
    // after the drain. A lapsed lease on a row still there: shutdown is under way and held by the handlers.
    await waitFor(
      async () =>
        (
          await queryStore<{ lapsed: boolean }>(db, 'SELECT lease_until < clock_timestamp() AS lapsed FROM herald.group_members WHERE group_name = $1', [group])
        )[0]?.lapsed,
      { what: 'member lease lapsed while shutdown waits for its handlers' },
    );
    expect(stopped).toBe(false);
    expect(finished).toBe(0);
    expect((await broker.admin.groupProgress(group)).find((q) => q.topic === topic)).toMatchObject({ consumerOffset: 0 });
    release();
    await stopping;
    expect(finished).toBe(4);
    const progress = await broker.admin.groupProgress(group);
    expect(progress.find((q) => q.topic === topic)).toMatchObject({ consumerOffset: 4, lag: 0 });

    const again: MessageView[] = [];
    const successor = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler: (m) => void again.push(m) });
    await successor.start();
    await broker.producer({ group: 'p' }).send({ topic, body: 'fresh' });
    await waitFor(() => again.length >= 1, { what: 'successor receives the new message' });
    expect(again.map((m) => m.body.toString())).toEqual(['fresh']);
  });

  it('queues move between members on join and leave without handling any message twice', async () => {
    const topic = uniqueName('handover');
    const group = uniqueName('relay');
    const [a, b] = await Promise.all([openBroker(), openBroker()]);
    await a.admin.createTopic(topic, { queues: 8 });
    const handled = new Map<string, number>();
    const handler = (m: MessageView): void => void handled.set(m.msgId, (handled.get(m.msgId) ?? 0) + 1);
    const first = a.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler });
    await first.start();
    const producer = a.producer({ group: 'p' });
    const sent: string[] = [];
    let sending = true;
    const stream = (async () => {
      while (sending) {
        const receipts = await producer.sendBatch(Array.from({ length: 50 }, (_, i) => ({ topic, body: `m${i}` })));
        sent.push(...receipts.map((r) => r.msgId));
      }
    })();
    await waitFor(() => handled.size > 500, { what: 'first member busy' });
    const second = b.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler });
    await second.start();
    await waitFor(async () => (await a.admin.groupMembers(group)).every((m) => m.queues.filter((q) => q.topic === topic).length === 4), {
      what: 'queues split 4/4',
    });
    await first.shutdown();
    await waitFor(async () => (await a.admin.groupMembers(group)).length === 1, { what: 'first member gone' });
    sending = false;
    await stream;
    await waitFor(() => sent.every((id) => handled.has(id)), { timeoutMs: 30_000, what: 'every message handled' });
    expect([...handled.values()].filter((n) => n > 1)).toEqual([]);
  });

  it('background loops can be driven by hand: with runScheduler off, a retry waits for scheduler.runOnce()', async () => {
    const broker = await openBroker({ runScheduler: false, pollInterval: POLL_INTERVAL });
    const topic = uniqueName('manual');
    await broker.admin.createTopic(topic, { queues: 1 });
    const calls: number[] = [];
    const consumer = broker.pushConsumer({
      group: uniqueName('manual-group'),
      subscriptions: { [topic]: '*' },
      handler: (m) => {
        calls.push(m.reconsumeTimes);
        return m.reconsumeTimes === 0 ? 'RETRY' : 'SUCCESS';
      },
    });
    await consumer.start();
    const { msgId } = await broker.producer({ group: 'p' }).send({ topic, body: 'x' });
    const [retry] = await waitFor(
      async () => {
        const pending = (await broker.admin.queryMessage(msgId))?.trace.pendingRetries ?? [];
        return pending.length > 0 ? pending : null;
      },
      { what: 'retry scheduled' },
    );
    // a running scheduler makes a pass at least every pollInterval: wait (on the store's clock) until one would have moved it
    const movedBy = new Date(retry.dueAt.getTime() + POLL_INTERVAL);
    await waitFor(async () => (await queryStore<{ past: boolean }>(db, 'SELECT clock_timestamp() > $1 AS past', [movedBy]))[0].past, { what: 'retry overdue' });
    expect(calls).toEqual([0]);
    expect((await broker.admin.queryMessage(msgId))?.trace.pendingRetries).toEqual([retry]);
    expect(await backgroundJobs(broker).dueMessageMover.runOnce()).toMatchObject({ moved: 1 });
    await waitFor(() => calls.length === 2, { what: 'retry delivered' });
    expect(calls).toEqual([0, 1]);
  });

  it('close() shuts down running consumers; a closed broker refuses work with IllegalStateError', async () => {
    const broker = await openBroker();
    const topic = uniqueName('closing');
    await broker.admin.createTopic(topic, { queues: 1 });
    const consumer = broker.pushConsumer({ group: uniqueName('g'), subscriptions: { [topic]: '*' }, handler: () => undefined });
    await consumer.start();
    const producer = broker.producer({ group: 'p' });
    await broker.close();
    expect(consumer.isRunning).toBe(false);
    await expect(producer.send({ topic, body: 'late' })).rejects.toBeInstanceOf(IllegalStateError);
    expect(() => broker.producer({ group: 'p' })).toThrow(IllegalStateError);
    await expect(broker.admin.createTopic(uniqueName('t'))).rejects.toBeInstanceOf(IllegalStateError);
  });
});
