import { InvalidMessageError, MessageView } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

class StockServiceDown extends Error {
  override name = 'StockServiceDown';
}

describe('failure reasons stored with retries and dead letters', () => {
  it('each retry copy and the dead letter say why: the exception name and message, bounded and storable; handlers never see it', async () => {
    const broker = await openBroker();
    const topic = uniqueName('failing');
    const group = uniqueName('failers');
    await broker.admin.createTopic(topic, { queues: 1 });
    const seen: MessageView[] = [];
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      maxReconsumeTimes: 2,
      consumeTimeout: 200,
      handler: async (m) => {
        seen.push(m);
        if (m.reconsumeTimes === 0) throw new StockServiceDown('stock service down: 503');
        // NUL cannot go into jsonb, nor a lone surrogate into UTF-8: the reason is made storable, not a wedge
        if (m.reconsumeTimes === 1) throw new Error(`bad\u0000byte \uD800 and ${'x'.repeat(5_000)}`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      },
    });
    await consumer.start();
    const { msgId } = await broker.producer({ group: 'p' }).send({ topic, body: 'order', properties: { a: '1' } });
    await waitFor(async () => (await broker.admin.listDlq(group)).length === 1, { what: 'the dead letter', timeoutMs: 20_000 });
    const [dead] = await broker.admin.listDlq(group);
    expect(dead).toMatchObject({ msgId, reconsumeTimes: 2, properties: { a: '1' } });
    expect(dead.lastError).toEqual({ type: 'timeout', message: 'handler exceeded consumeTimeout (200 ms)' });

    const found = await broker.admin.queryMessage(msgId);
    const copies = found?.trace.stored.map((copy) => ({ topic: copy.topic, reconsumeTimes: copy.reconsumeTimes, lastError: copy.lastError }));
    expect(copies?.[0]).toEqual({ topic, reconsumeTimes: 0, lastError: null });
    expect(copies?.[1]).toEqual({ topic: `%RETRY%${group}`, reconsumeTimes: 1, lastError: { type: 'StockServiceDown', message: 'stock service down: 503' } });
    const second = copies?.[2]?.lastError;
    expect(second?.type).toBe('Error');
    expect(second?.message.startsWith('bad\uFFFDbyte \uFFFD and xxx')).toBe(true);
    expect(second?.message.length).toBe(1_024);
    expect(second?.message.endsWith('…')).toBe(true);
    expect(copies?.[3]).toMatchObject({ topic: `%DLQ%${group}`, reconsumeTimes: 2 });
    // the handler saw the user's properties only, on every attempt
    expect(seen.map((m) => m.properties)).toEqual([{ a: '1' }, { a: '1' }, { a: '1' }]);
    await expect(broker.producer({ group: 'p' }).send({ topic, body: 'x', properties: { HERALD_ERROR_TYPE: 'mine' } })).rejects.toMatchObject({
      constructor: InvalidMessageError,
      field: 'properties.HERALD_ERROR_TYPE',
    });
  });

  it('an orderly retry in place keeps the last failure for its dead letter; a RETRY result is recorded as such', async () => {
    const broker = await openBroker();
    const topic = uniqueName('orderly-failing');
    const group = uniqueName('orderly-failers');
    await broker.admin.createTopic(topic, { queues: 1 });
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      orderly: true,
      maxReconsumeTimes: 1,
      orderlySuspendTime: 10,
      handler: (m) => (m.reconsumeTimes === 0 ? Promise.reject(new RangeError('quantity out of range')) : 'RETRY'),
    });
    await consumer.start();
    await broker.producer({ group: 'p' }).send({ topic, body: 'x', messageGroup: 'order-1' });
    await waitFor(async () => (await broker.admin.listDlq(group)).length === 1, { what: 'the dead letter', timeoutMs: 20_000 });
    const [dead] = await broker.admin.listDlq(group);
    expect(dead.lastError).toEqual({ type: 'retry', message: 'the handler asked for a retry' });
  });

  it("a simple consumer's message that is never acked is dead-lettered with that reason", async () => {
    const broker = await openBroker();
    const topic = uniqueName('unacked');
    const group = uniqueName('forgetful');
    await broker.admin.createTopic(topic, { queues: 1 });
    const consumer = broker.simpleConsumer({ group, subscriptions: { [topic]: '*' }, maxReconsumeTimes: 1, consumeFromWhere: 'FIRST_OFFSET' });
    await broker.producer({ group: 'p' }).send({ topic, body: 'x', properties: { a: '1' } });
    // received twice (reconsumeTimes 0 and 1), acked never: the next receive dead-letters it
    await waitFor(async () => (await consumer.receive({ invisibleDuration: 20 })).length === 0 && (await broker.admin.listDlq(group)).length === 1, {
      what: 'the dead letter',
      timeoutMs: 20_000,
    });
    const [dead] = await broker.admin.listDlq(group);
    expect(dead.properties).toEqual({ a: '1' });
    expect(dead.lastError).toEqual({ type: 'invisible_timeout', message: 'not acknowledged within its invisible duration; received 2 times' });
  });
});
