import { InvalidReceiptHandleError, ReceivedMessage } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

describe('simple (pull) consumer', () => {
  it('a received message is invisible to the group until its invisibility ends, then reappears with reconsumeTimes + 1', async () => {
    const broker = await openBroker();
    const topic = uniqueName('pull');
    const group = uniqueName('pullers');
    await broker.admin.createTopic(topic, { queues: 2 });
    const first = broker.simpleConsumer({ group, subscriptions: { [topic]: '*' }, consumeFromWhere: 'FIRST_OFFSET' });
    const second = broker.simpleConsumer({ group, subscriptions: { [topic]: '*' } });
    const producer = broker.producer({ group: 'p' });
    const sent = await producer.sendBatch(Array.from({ length: 6 }, (_, i) => ({ topic, body: `m${i}`, tag: i % 2 ? 'odd' : 'even' })));

    const taken = await first.receive({ maxMessages: 4, invisibleDuration: 300 });
    expect(taken).toHaveLength(4);
    const rest = await second.receive({ maxMessages: 10, invisibleDuration: 60_000 });
    expect(rest).toHaveLength(2);
    expect(new Set([...taken, ...rest].map((m) => m.msgId))).toEqual(new Set(sent.map((s) => s.msgId)));
    expect(await second.receive({ maxMessages: 10 })).toEqual([]);

    await first.ack(taken[0]);
    await first.changeInvisibleDuration(taken[1], 60_000);
    // taken[2] and taken[3] are neither acked nor extended: they come back after 300 ms
    const back = await waitFor(
      async () => {
        const got = await second.receive({ maxMessages: 10, invisibleDuration: 60_000 });
        return got.length > 0 ? got : null;
      },
      { what: 'unacked messages reappear' },
    );
    expect(back.map((m) => m.msgId).sort()).toEqual([taken[2].msgId, taken[3].msgId].sort());
    expect(back.every((m) => m.reconsumeTimes === 1)).toBe(true);
    // the old receipt of a reappeared message is stale
    await expect(first.ack(taken[2])).rejects.toBeInstanceOf(InvalidReceiptHandleError);
    await first.ack(taken[1]);
    await expect(first.ack(taken[0])).rejects.toBeInstanceOf(InvalidReceiptHandleError);
    for (const m of [...back, ...rest]) await second.ack(m);
  });

  it('LAST_OFFSET starts where the consumer was created, even when the first receive comes later', async () => {
    const broker = await openBroker();
    const producer = broker.producer({ group: 'p' });
    // Several rounds on a warm broker: 'before' is acknowledged well under a millisecond
    // before the consumer exists, closer than the database clock can place that instant.
    for (let round = 0; round < 10; round++) {
      const topic = uniqueName('pull-late');
      await broker.admin.createTopic(topic, { queues: 2 });
      await producer.send({ topic, body: 'before' });
      const consumer = broker.simpleConsumer({ group: uniqueName('late-pullers'), subscriptions: { [topic]: '*' } });
      await producer.send({ topic, body: 'after' });
      const got = await consumer.receive({ maxMessages: 10 });
      expect({ round, bodies: got.map((m) => m.body.toString()) }).toEqual({ round, bodies: ['after'] });
    }
  });

  it('filters by tag, waits for new messages with awaitDuration, and dead-letters after maxReconsumeTimes', async () => {
    const broker = await openBroker();
    const topic = uniqueName('pull-dlq');
    const group = uniqueName('slow-pullers');
    await broker.admin.createTopic(topic, { queues: 1 });
    const consumer = broker.simpleConsumer({ group, subscriptions: { [topic]: 'keep' }, maxReconsumeTimes: 1 });
    expect(await consumer.receive({ maxMessages: 1 })).toEqual([]);
    const producer = broker.producer({ group: 'p' });
    const waiting = consumer.receive({ maxMessages: 5, invisibleDuration: 50, awaitDuration: 10_000 });
    await producer.send({ topic, body: 'skip me', tag: 'drop' });
    const kept = await producer.send({ topic, body: 'keep me', tag: 'keep' });
    const got = await waiting;
    expect(got.map((m) => m.msgId)).toEqual([kept.msgId]);
    // never acked: delivered twice (reconsumeTimes 0, 1), then dead-lettered
    const again = await waitFor(
      async () => {
        const r = await consumer.receive({ maxMessages: 5, invisibleDuration: 50 });
        return r.length > 0 ? r : null;
      },
      { what: 'second delivery' },
    );
    expect(again.map((m) => m.reconsumeTimes)).toEqual([1]);
    // receiving is what dead-letters it; anything handed out meanwhile is a delivery too many
    const extra: ReceivedMessage[] = [];
    await waitFor(
      async () => {
        extra.push(...(await consumer.receive({ maxMessages: 5, invisibleDuration: 50 })));
        return (await broker.admin.listDlq(group)).length === 1;
      },
      { what: 'dead-lettered after maxReconsumeTimes' },
    );
    expect(extra.map((m) => m.reconsumeTimes)).toEqual([]);
    expect(await consumer.receive({ maxMessages: 5 })).toEqual([]);
    expect((await broker.admin.listDlq(group)).map((m) => m.msgId)).toEqual([kept.msgId]);
    await expect(consumer.receive({ maxMessages: 0 })).rejects.toMatchObject({ field: 'maxMessages' });
    expect(() => broker.simpleConsumer({ group: 'g', subscriptions: {} })).toThrow(expect.objectContaining({ field: 'subscriptions' }));
    await consumer.shutdown();
    await expect(consumer.receive()).rejects.toMatchObject({ code: 'ILLEGAL_STATE' });
  });
});
