import { dlqTopicOf, MessageView, retryTopicOf } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, FAST_DELAY_LEVELS, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

describe('retry and dead-letter', () => {
  it('a handler failing twice then succeeding is called 3 times, same msgId, reconsumeTimes 0,1,2, on the schedule', async () => {
    const broker = await openBroker();
    const topic = uniqueName('flaky');
    await broker.admin.createTopic(topic, { queues: 2 });
    const calls: MessageView[] = [];
    const consumer = broker.pushConsumer({
      group: uniqueName('flaky-group'),
      subscriptions: { [topic]: '*' },
      handler: (message) => {
        calls.push(message);
        if (calls.length === 1) throw new Error('first failure');
        if (calls.length === 2) return 'RETRY';
        return 'SUCCESS';
      },
    });
    await consumer.start();
    const receipt = await broker.producer({ group: 'p' }).send({ topic, body: 'payload', tag: 'T', keys: ['k'], properties: { a: '1' } });
    await waitFor(() => calls.length === 3, { what: 'third delivery' });
    expect(calls.map((c) => c.msgId)).toEqual([receipt.msgId, receipt.msgId, receipt.msgId]);
    expect(calls.map((c) => c.reconsumeTimes)).toEqual([0, 1, 2]);
    for (const message of calls) {
      expect(message.topic).toBe(topic);
      expect(message.body.toString()).toBe('payload');
      expect(message.tag).toBe('T');
      expect(message.properties).toEqual({ a: '1' });
    }
    await consumer.shutdown();
    const trace = await broker.admin.queryMessage(receipt.msgId);
    expect(trace?.trace.stored.map((s) => s.topic)).toEqual([topic, retryTopicOf(consumer.group), retryTopicOf(consumer.group)]);
    expect(trace?.trace.stored.map((s) => s.storedAt)).toEqual(calls.map((c) => c.storedAt));
    // Retry n is scheduled after delivery n-1 failed, so after that copy was stored, and is appended
    // when due: delay level n+2 later (levels 3 and 4 of the compressed schedule). The store's clock
    // throughout; 1 ms for storedAt being its transaction's start, a little before the due check.
    const [first, second, third] = calls.map((c) => c.storedAt.getTime());
    expect(second - first).toBeGreaterThanOrEqual(FAST_DELAY_LEVELS[2] - 1);
    expect(third - second).toBeGreaterThanOrEqual(FAST_DELAY_LEVELS[3] - 1);
  });

  it('a handler that always fails ends in %DLQ%<group> after maxReconsumeTimes; other groups are not retried', async () => {
    const broker = await openBroker();
    const topic = uniqueName('poison');
    await broker.admin.createTopic(topic, { queues: 1 });
    const failing: number[] = [];
    const healthy: number[] = [];
    const failingGroup = uniqueName('always-fails');
    const bad = broker.pushConsumer({
      group: failingGroup,
      subscriptions: { [topic]: '*' },
      maxReconsumeTimes: 3,
      handler: (m) => {
        failing.push(m.reconsumeTimes);
        throw new Error('poison');
      },
    });
    const good = broker.pushConsumer({ group: uniqueName('healthy'), subscriptions: { [topic]: '*' }, handler: (m) => void healthy.push(m.reconsumeTimes) });
    await bad.start();
    await good.start();
    const receipt = await broker.producer({ group: 'p' }).send({ topic, body: 'poison pill', keys: ['order-7'] });
    const dlq = await waitFor(
      async () => {
        const messages = await broker.admin.listDlq(failingGroup);
        return messages.length === 1 ? messages : null;
      },
      { what: 'message in the DLQ' },
    );
    expect(failing).toEqual([0, 1, 2, 3]);
    expect(healthy).toEqual([0]);
    expect(dlq[0]).toMatchObject({ msgId: receipt.msgId, topic, keys: ['order-7'] });
    expect(dlq[0].body.toString()).toBe('poison pill');
    const query = await broker.admin.queryMessage(receipt.msgId);
    expect(query?.trace.deadLettered).toEqual([failingGroup]);
    expect(query?.trace.stored.at(-1)?.topic).toBe(dlqTopicOf(failingGroup));
    await expect(broker.admin.listDlq('no-such-group')).rejects.toMatchObject({ code: 'GROUP_NOT_FOUND' });
  });

  it('bad consumer options are typed errors naming the field', async () => {
    const broker = await openBroker();
    const topic = uniqueName('opts');
    await broker.admin.createTopic(topic, { queues: 1 });
    const handler = (): void => undefined;
    const cases: [object, string][] = [
      [{ group: 'bad group', subscriptions: { [topic]: '*' }, handler }, 'group'],
      [{ group: 'g', subscriptions: {}, handler }, 'subscriptions'],
      [{ group: 'g', subscriptions: { [topic]: '*' } }, 'handler'],
      [{ group: 'g', subscriptions: { [topic]: '*' }, handler, concurrency: 0 }, 'concurrency'],
      [{ group: 'g', subscriptions: { [topic]: '*' }, handler, maxReconsumeTimes: -1 }, 'maxReconsumeTimes'],
      [{ group: 'g', subscriptions: { [topic]: '*' }, handler, consumeFromWhere: 'MIDDLE' }, 'consumeFromWhere'],
      [{ group: 'g', subscriptions: { [topic]: '*' }, handler, model: 'GOSSIP' }, 'model'],
    ];
    for (const [options, field] of cases) {
      expect(() => broker.pushConsumer(options as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', field }));
    }
    expect(() => broker.pushConsumer({ group: 'g', subscriptions: { [topic]: 'A ||' }, handler })).toThrow(
      expect.objectContaining({ code: 'INVALID_FILTER_EXPRESSION' }),
    );
    const missing = broker.pushConsumer({ group: 'g', subscriptions: { [uniqueName('missing')]: '*' }, handler });
    await expect(missing.start()).rejects.toMatchObject({ code: 'TOPIC_NOT_FOUND' });
    const twice = broker.pushConsumer({ group: uniqueName('twice'), subscriptions: { [topic]: '*' }, handler });
    await twice.start();
    await expect(twice.start()).rejects.toMatchObject({ code: 'ILLEGAL_STATE' });
    await twice.shutdown();
  });
});
