import { MessageView } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

describe('consuming', () => {
  it('8 concurrent producers on one queue: gapless offsets, per-producer order kept', async () => {
    const topic = uniqueName('gapless');
    const setup = await openBroker();
    await setup.admin.createTopic(topic, { queues: 1 });
    const seen: MessageView[] = [];
    const consumer = setup.pushConsumer({
      group: uniqueName('reader'),
      subscriptions: { [topic]: '*' },
      consumeFromWhere: 'FIRST_OFFSET',
      concurrency: 1,
      handler: (m) => void seen.push(m),
    });
    await consumer.start();
    const producers = await Promise.all(Array.from({ length: 8 }, () => openBroker()));
    const perProducer = 2_000;
    await Promise.all(
      producers.map(async (broker, p) => {
        const producer = broker.producer({ group: `writer-${p}` });
        // Issued without waiting, 250 at a time: the group commit must keep issue order.
        for (let start = 0; start < perProducer; start += 250) {
          await Promise.all(Array.from({ length: 250 }, (_, i) => producer.send({ topic, body: `${p}:${start + i}`, messageGroup: `producer-${p}` })));
        }
      }),
    );
    const total = 8 * perProducer;
    await waitFor(() => seen.length >= total, { timeoutMs: 60_000, what: `${total} messages consumed` });
    expect(seen.map((m) => m.queueOffset)).toEqual(Array.from({ length: total }, (_, i) => i));
    const lastSeq = new Map<string, number>();
    for (const m of seen) {
      const [p, seq] = m.body.toString().split(':');
      expect(Number(seq)).toBe((lastSeq.get(p) ?? -1) + 1);
      lastSeq.set(p, Number(seq));
    }
  });

  it('two groups on one topic each get every message; tag filters deliver exactly the matching tags', async () => {
    const broker = await openBroker();
    const topic = uniqueName('fanout');
    await broker.admin.createTopic(topic, { queues: 4 });
    const all: string[] = [];
    const paid: string[] = [];
    const created: string[] = [];
    const groupAll = broker.pushConsumer({ group: uniqueName('all'), subscriptions: { [topic]: '*' }, handler: (m) => void all.push(m.msgId) });
    const groupPaid = broker.pushConsumer({
      group: uniqueName('paid'),
      subscriptions: { [topic]: 'OrderPaid || OrderRefunded' },
      handler: (m) => void paid.push(`${m.tag}:${m.msgId}`),
    });
    const groupCreated = broker.pushConsumer({
      group: uniqueName('created'),
      subscriptions: { [topic]: 'OrderCreated' },
      handler: (m) => void created.push(m.msgId),
    });
    await Promise.all([groupAll.start(), groupPaid.start(), groupCreated.start()]);
    const producer = broker.producer({ group: 'p' });
    const tags = ['OrderCreated', 'OrderPaid', 'OrderRefunded', undefined];
    const sent = await Promise.all(
      Array.from({ length: 200 }, (_, i) => producer.send({ topic, body: `m${i}`, tag: tags[i % 4] }).then((r) => ({ ...r, tag: tags[i % 4] }))),
    );
    await waitFor(() => all.length === 200 && paid.length === 100 && created.length === 50, { what: 'every group caught up' });
    expect(new Set(all)).toEqual(new Set(sent.map((s) => s.msgId)));
    expect(paid.sort()).toEqual(
      sent
        .filter((s) => s.tag === 'OrderPaid' || s.tag === 'OrderRefunded')
        .map((s) => `${s.tag}:${s.msgId}`)
        .sort(),
    );
    expect(created.sort()).toEqual(
      sent
        .filter((s) => s.tag === 'OrderCreated')
        .map((s) => s.msgId)
        .sort(),
    );
    // filtered-out messages still move the group's offsets on
    await waitFor(async () => (await broker.admin.groupProgress(groupCreated.group)).filter((q) => q.topic === topic).every((q) => q.lag === 0), {
      what: 'tag-filtered group has no lag',
    });
  });

  it('an SQL92 filter delivers exactly the messages whose properties match; a malformed one is refused', async () => {
    const broker = await openBroker();
    const topic = uniqueName('sql');
    await broker.admin.createTopic(topic, { queues: 4 });
    const got: string[] = [];
    const consumer = broker.pushConsumer({
      group: uniqueName('eu-big'),
      subscriptions: { [topic]: { sql: "region = 'eu' AND amount > 100 AND (vip IS NULL OR vip <> 'no')" } },
      handler: (m) => void got.push(m.body.toString()),
    });
    await consumer.start();
    const producer = broker.producer({ group: 'p' });
    const cases: [string, Record<string, string> | undefined, boolean][] = [
      ['eu-150', { region: 'eu', amount: '150' }, true],
      ['eu-50', { region: 'eu', amount: '50' }, false],
      ['us-500', { region: 'us', amount: '500' }, false],
      ['eu-abc', { region: 'eu', amount: 'abc' }, false],
      ['eu-200-vip-no', { region: 'eu', amount: '200', vip: 'no' }, false],
      ['eu-200-vip-yes', { region: 'eu', amount: '200', vip: 'yes' }, true],
      ['no-props', undefined, false],
    ];
    for (const [body, properties] of cases) await producer.send({ topic, body, properties });
    await producer.send({ topic, body: 'eu-101-last', properties: { region: 'eu', amount: '101' } });
    await waitFor(() => got.includes('eu-101-last'), { what: 'last matching message' });
    expect(got.sort()).toEqual([...cases.filter(([, , ok]) => ok).map(([b]) => b), 'eu-101-last'].sort());
    await waitFor(async () => (await broker.admin.groupProgress(consumer.group)).filter((q) => q.topic === topic).every((q) => q.lag === 0), {
      what: 'filtered messages passed',
    });
    expect(() => broker.pushConsumer({ group: 'g', subscriptions: { [topic]: { sql: "region = 'eu' AND" } }, handler: () => undefined })).toThrow(
      expect.objectContaining({ code: 'INVALID_FILTER_EXPRESSION', position: 17 }),
    );
  });

  it('3 members share 8 queues: 10 000 messages each handled once while membership is stable', async () => {
    const topic = uniqueName('cluster');
    const group = uniqueName('workers');
    const brokers = await Promise.all(Array.from({ length: 3 }, () => openBroker()));
    await brokers[0].admin.createTopic(topic, { queues: 8 });
    const handledBy = new Map<string, number[]>();
    const consumers = brokers.map((broker, member) =>
      broker.pushConsumer({
        group,
        subscriptions: { [topic]: '*' },
        handler: (m) => {
          handledBy.set(m.msgId, [...(handledBy.get(m.msgId) ?? []), member]);
        },
      }),
    );
    for (const consumer of consumers) await consumer.start();
    await waitFor(
      async () => {
        const members = await brokers[0].admin.groupMembers(group);
        const topicQueues = members.map((m) => m.queues.filter((q) => q.topic === topic).length).sort();
        return members.length === 3 && topicQueues.join() === '2,3,3';
      },
      { what: 'queues spread 3/3/2 over the members' },
    );
    const producer = brokers[0].producer({ group: 'p' });
    for (let i = 0; i < 10; i += 1) {
      await producer.sendBatch(Array.from({ length: 1_000 }, (_, j) => ({ topic, body: `m${i * 1_000 + j}` })));
    }
    await waitFor(() => handledBy.size === 10_000, { timeoutMs: 60_000, what: '10 000 messages handled' });
    const twice = [...handledBy.values()].filter((members) => members.length > 1);
    expect(twice).toEqual([]);
    const perMember = [0, 1, 2].map((member) => [...handledBy.values()].filter((m) => m[0] === member).length);
    expect(perMember.every((n) => n > 0)).toBe(true);
  });

  it('an idle consumer is woken by NOTIFY, not by the poll interval', async () => {
    const pollInterval = 600_000;
    const broker = await openBroker({ pollInterval });
    const topic = uniqueName('latency');
    await broker.admin.createTopic(topic, { queues: 2 });
    const got: { message: MessageView; at: number }[] = [];
    const consumer = broker.pushConsumer({
      group: uniqueName('fast'),
      subscriptions: { [topic]: '*' },
      handler: (m) => void got.push({ message: m, at: Date.now() }),
    });
    await consumer.start();
    const producer = broker.producer({ group: 'p' });
    for (let i = 0; i < 3; i += 1) {
      await producer.send({ topic, body: `ping${i}` });
      // each waits for the consumer to be idle again: its next poll is 10 minutes away
      await waitFor(() => got.length === i + 1, { what: `message ${i} delivered` });
    }
    // The consumer went idle just before each send, so a poll would hand the message over about
    // pollInterval after it was stored; a notification, a small part of that.
    for (const { message, at } of got) expect(at - message.storedAt.getTime()).toBeLessThan(pollInterval / 10);
  });

  it('consumeFromWhere: LAST_OFFSET skips history for a new group, FIRST_OFFSET reads it', async () => {
    const broker = await openBroker();
    const topic = uniqueName('history');
    await broker.admin.createTopic(topic, { queues: 2 });
    const producer = broker.producer({ group: 'p' });
    await producer.sendBatch([
      { topic, body: 'old1' },
      { topic, body: 'old2' },
    ]);
    const last: string[] = [];
    const first: string[] = [];
    const fromLast = broker.pushConsumer({ group: uniqueName('last'), subscriptions: { [topic]: '*' }, handler: (m) => void last.push(m.body.toString()) });
    const fromFirst = broker.pushConsumer({
      group: uniqueName('first'),
      subscriptions: { [topic]: '*' },
      consumeFromWhere: 'FIRST_OFFSET',
      handler: (m) => void first.push(m.body.toString()),
    });
    await fromLast.start();
    await fromFirst.start();
    await producer.send({ topic, body: 'new' });
    await waitFor(() => last.length === 1 && first.length === 3, { what: 'both groups caught up' });
    expect(last).toEqual(['new']);
    expect(first.sort()).toEqual(['new', 'old1', 'old2']);
  });
});
