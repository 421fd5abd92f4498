import { Broker, InvalidMessageError, MessageView } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

/** Level 1 is 400 ms here, level 2 is 800 ms. */
const DELAY_LEVELS = [400, 800, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000];

describe('delayed messages', () => {
  it('a delayLevel or deliverAt message is invisible until due, then appended with its final offset', async () => {
    const broker = await openBroker({ delayLevels: DELAY_LEVELS });
    const topic = uniqueName('later');
    await broker.admin.createTopic(topic, { queues: 1 });
    const got: { message: MessageView; at: number }[] = [];
    const consumer = broker.pushConsumer({
      group: uniqueName('patient'),
      subscriptions: { [topic]: '*' },
      handler: (m) => void got.push({ message: m, at: Date.now() }),
    });
    await consumer.start();
    const producer = broker.producer({ group: 'p' });
    const byLevel = await producer.send({ topic, body: 'level-2', delayLevel: 2 });
    const requested = new Date(Date.now() + 400);
    const byTime = await producer.send({ topic, body: 'at-time', deliverAt: requested });
    const now = await producer.send({ topic, body: 'now' });
    expect(byLevel.queueOffset).toBe(-1);
    expect(byTime.queueOffset).toBe(-1);
    expect(byTime.deliverAt).toEqual(requested);
    expect(now.queueOffset).toBe(0);
    expect(now.deliverAt).toBeUndefined();
    await waitFor(() => got.length === 3, { what: 'all three delivered' });
    expect(got.map((g) => g.message.body.toString())).toEqual(['now', 'at-time', 'level-2']);
    expect(got.map((g) => g.message.queueOffset)).toEqual([0, 1, 2]);
    expect(got[1].message.msgId).toBe(byTime.msgId);
    expect(got[2].message.msgId).toBe(byLevel.msgId);
    // level 2 is due its delay after the message was born; neither was appended (storedAt) nor handled before it was due
    expect(byLevel.deliverAt!.getTime() - got[2].message.bornAt.getTime()).toBe(DELAY_LEVELS[1]);
    for (const [{ message, at }, receipt] of [
      [got[1], byTime],
      [got[2], byLevel],
    ] as const) {
      expect(message.storedAt.getTime()).toBeGreaterThanOrEqual(receipt.deliverAt!.getTime());
      expect(at).toBeGreaterThanOrEqual(receipt.deliverAt!.getTime());
    }
  });

  it('a delayed message survives a restart of every process', async () => {
    const first = await Broker.connect({ connectionString: db.url, ...FAST, delayLevels: DELAY_LEVELS });
    const topic = uniqueName('durable-delay');
    await first.admin.createTopic(topic, { queues: 2 });
    const receipt = await first.producer({ group: 'p' }).send({ topic, body: 'wait for me', delayLevel: 2 });
    await first.close();
    const second = await openBroker({ delayLevels: DELAY_LEVELS });
    const got: MessageView[] = [];
    const consumer = second.pushConsumer({ group: uniqueName('late'), subscriptions: { [topic]: '*' }, handler: (m) => void got.push(m) });
    await consumer.start();
    await waitFor(() => got.length === 1, { what: 'delayed message delivered after restart' });
    expect(got[0].msgId).toBe(receipt.msgId);
  });

  it('refuses bad delays with InvalidMessageError', async () => {
    const broker = await openBroker({ maxDelay: 60_000 });
    const topic = uniqueName('bad-delay');
    await broker.admin.createTopic(topic, { queues: 1 });
    const producer = broker.producer({ group: 'p' });
    const cases: [object, string][] = [
      [{ delayLevel: 0 }, 'delayLevel'],
      [{ delayLevel: 19 }, 'delayLevel'],
      [{ delayLevel: 1.5 }, 'delayLevel'],
      [{ delayLevel: 1, deliverAt: Date.now() }, 'delayLevel'],
      [{ deliverAt: 'tomorrow' }, 'deliverAt'],
      [{ deliverAt: Date.now() + 120_000 }, 'deliverAt'],
    ];
    for (const [extra, field] of cases) {
      await expect(producer.send({ topic, body: 'x', ...extra })).rejects.toMatchObject({ constructor: InvalidMessageError, field });
    }
    // a time in the past is delivered at once: appended straight away, with its offset
    const receipt = await producer.send({ topic, body: 'past', deliverAt: Date.now() - 1_000 });
    expect(receipt.queueOffset).toBe(0);
  });
});
