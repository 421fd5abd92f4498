import { MessageView } from '@herald/broker';
import { ChildScript } from '@herald/test-support/child-process';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, RecordingLogger, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);
const children: ChildScript[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
});

const never = new Promise<void>(() => undefined);

/** Handler executions a child printed: [body, start, end] with end Infinity while still running. */
function executions(child: ChildScript): { body: string; start: number; end: number }[] {
  const runs = new Map<string, { body: string; start: number; end: number }>();
  for (const line of child.lines) {
    const [kind, body, at] = line.split(' ');
    if (kind === 'start') runs.set(body, { body, start: Number(at), end: Number.POSITIVE_INFINITY });
    if (kind === 'end' && runs.has(body)) runs.get(body)!.end = Number(at);
  }
  return [...runs.values()];
}

describe('stalls: hung handlers, stalled processes, buffered bytes', () => {
  it('a handler that never returns is timed out after consumeTimeout: the message is retried and the offset moves on', async () => {
    const broker = await openBroker();
    const topic = uniqueName('hung');
    const group = uniqueName('hung-group');
    await broker.admin.createTopic(topic, { queues: 1 });
    const seen: MessageView[] = [];
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      consumeTimeout: 300,
      offsetCommitInterval: 20,
      handler: async (message) => {
        seen.push(message);
        if (message.body.toString() === 'hang' && message.reconsumeTimes === 0) await never;
      },
    });
    await consumer.start();
    const producer = broker.producer({ group: 'hung-producer' });
    const hung = await producer.send({ topic, body: 'hang' });
    await producer.sendBatch(Array.from({ length: 10 }, (_, i) => ({ topic, body: `after-${i}` })));
    await waitFor(() => seen.some((m) => m.msgId === hung.msgId && m.reconsumeTimes === 1), { what: 'the hung message retried' });
    await waitFor(async () => (await broker.admin.groupProgress(group)).find((q) => q.topic === topic)?.lag === 0, {
      what: 'committed offset past the hung message',
    });
    expect(seen.filter((m) => m.body.toString().startsWith('after-'))).toHaveLength(10);
    await consumer.shutdown();
  });

  it('a queue handed back on rebalance stops renewing its lock at once, so the new owner gets it despite a hung handler', async () => {
    const broker = await openBroker();
    const topic = uniqueName('handover');
    const group = uniqueName('handover-group');
    await broker.admin.createTopic(topic, { queues: 1 });
    const producer = broker.producer({ group: 'handover-producer' });
    let hungStarted = false;
    const first = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      consumeTimeout: 600_000,
      shutdownTimeout: 100,
      handler: async () => {
        hungStarted = true;
        await never;
      },
    });
    await first.start();
    await producer.send({ topic, body: 'hangs in the first member' });
    await waitFor(() => hungStarted, { what: 'the first member stuck in its handler' });

    const handledBySecond: string[] = [];
    // sorted client ids decide who gets the single queue: make the newcomer win it
    let second = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler: (m) => void handledBySecond.push(m.body.toString()) });
    const extras = [];
    while (second.clientId > first.clientId) {
      extras.push(second);
      second = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler: (m) => void handledBySecond.push(m.body.toString()) });
    }
    for (const extra of extras) await extra.shutdown();
    await second.start();
    const sent = await producer.sendBatch(Array.from({ length: 10 }, (_, i) => ({ topic, body: `new-${i}` })));
    await waitFor(() => sent.every((_, i) => handledBySecond.includes(`new-${i}`)), { timeoutMs: 15_000, what: 'the new owner handles the new messages' });
    await second.shutdown();
    await first.shutdown();
  }, 30_000);

  it('shutdown() drains for at most shutdownTimeout, then leaves and says what was left', async () => {
    const logger = new RecordingLogger();
    const broker = await openBroker({ logger });
    const topic = uniqueName('slow-exit');
    const group = uniqueName('slow-exit-group');
    await broker.admin.createTopic(topic, { queues: 1 });
    let started = false;
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      shutdownTimeout: 300,
      consumeTimeout: 600_000,
      handler: async () => {
        started = true;
        await never;
      },
    });
    await consumer.start();
    await broker.producer({ group: 'slow-exit-producer' }).send({ topic, body: 'never finishes' });
    await waitFor(() => started, { what: 'handler running' });
    await consumer.shutdown();
    const line = logger.lines.find((l) => l.message.startsWith('shutdown timed out'));
    expect(line?.fields).toMatchObject({ group, shutdownTimeout: 300, runningHandlers: 1 });
    expect(await broker.admin.groupMembers(group)).toEqual([]);
  });

  it('lease fencing: a member stalled past sessionTimeout runs none of its buffered messages once another member took the queue', async () => {
    const broker = await openBroker();
    const topic = uniqueName('fenced');
    const group = uniqueName('fenced-group');
    await broker.admin.createTopic(topic, { queues: 1 });
    const producer = broker.producer({ group: 'fenced-producer' });
    await producer.sendBatch(Array.from({ length: 300 }, (_, i) => ({ topic, body: `m${i}`, messageGroup: 'order-1' })));
    const stalled = ChildScript.start('test/fixtures/stalling-consumer.child.ts', {
      BROKER_URL: db.url,
      TOPIC: topic,
      GROUP: group,
      ORDERLY: '1',
      STALL_AT: 'm10',
      STALL_MS: '2500',
      HANDLER_MS: '10',
    });
    children.push(stalled);
    await stalled.waitForLine(/^start m10 /);

    const runs: { body: string; start: number; end: number }[] = [];
    const taker = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      orderly: true,
      consumeFromWhere: 'FIRST_OFFSET',
      handler: async (message) => {
        const run = { body: message.body.toString(), start: Date.now(), end: Number.POSITIVE_INFINITY };
        runs.push(run);
        await new Promise((resolve) => setTimeout(resolve, 10));
        run.end = Date.now();
      },
    });
    await taker.start();
    await stalled.waitForLine(/^end m10 /, 20_000);
    await waitFor(() => runs.length >= 60, { timeoutMs: 20_000, what: 'the other member consuming past the stall' });
    await taker.shutdown();

    const overlapping = executions(stalled)
      .filter((a) => a.body !== 'm10') // running when the stall began: no process can fence itself mid-handler
      .filter((a) => runs.some((b) => a.start < b.end && b.start < a.end));
    expect(overlapping).toEqual([]);
  }, 60_000);

  it('buffered bytes are capped: with 2 MiB bodies and a handler that never returns, the consumer holds ~maxBufferedBytes, not every queue x pullBatchSize', async () => {
    const broker = await openBroker();
    const topic = uniqueName('heavy');
    const group = uniqueName('heavy-group');
    await broker.admin.createTopic(topic, { queues: 8 });
    const producer = broker.producer({ group: 'heavy-producer' });
    const body = Buffer.alloc(2 * 1024 * 1024, 3);
    for (let i = 0; i < 200; i += 1) await producer.send({ topic, body });
    const child = ChildScript.start('test/fixtures/stalling-consumer.child.ts', {
      BROKER_URL: db.url,
      TOPIC: topic,
      GROUP: group,
      HANDLER_MS: '-1',
      CONCURRENCY: '1',
      MAX_BUFFERED_BYTES: String(16 * 1024 * 1024),
      RSS: '1',
    });
    children.push(child);
    await child.waitForLine(/^start /);
    // 40 reports (2 s) after the first handler started: the pull loop has long settled by then
    await waitFor(() => child.lines.filter((l) => l.startsWith('rss ')).length >= 40, { timeoutMs: 20_000, what: 'memory reports' });
    const peak = Math.max(...child.lines.filter((l) => l.startsWith('rss ')).map((l) => Number(l.split(' ')[1])));
    // 200 x 2 MiB = 400 MiB if everything were buffered; capped, the process stays near its baseline
    expect(peak).toBeLessThan(300 * 1024 * 1024);
  }, 60_000);
});
