import { Pool } from 'pg';
import { InvalidMessageError, MessageTooLargeError, MessageView } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

async function storedCount(topic: string): Promise<number> {
  const pool = new Pool({ connectionString: db.url });
  try {
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM herald.messages WHERE topic = $1', [topic]);
    return rows[0].n;
  } finally {
    await pool.end();
  }
}

describe('producer', () => {
  it('rejects bad messages with typed errors naming the field, and keeps working', async () => {
    const broker = await openBroker({ maxMessageSize: 1024 });
    const topic = uniqueName('validated');
    // one queue: a rejected message that took an offset would show as a gap before "still fine"
    await broker.admin.createTopic(topic, { queues: 1 });
    const producer = broker.producer({ group: 'p' });
    const ok = await producer.send({ topic, body: 'first' });

    await expect(producer.send({ topic, body: Buffer.alloc(1025) })).rejects.toMatchObject({
      constructor: MessageTooLargeError,
      size: 1025,
      limit: 1024,
    });
    const bad: [object, string][] = [
      [{ topic, body: '' }, 'body'],
      [{ topic, body: 42 }, 'body'],
      [{ topic, body: 'x', tag: 'A||B' }, 'tag'],
      [{ topic, body: 'x', tag: '' }, 'tag'],
      [{ topic, body: 'x', keys: 'k1' }, 'keys'],
      [{ topic, body: 'x', keys: ['ok', ''] }, 'keys[1]'],
      [{ topic, body: 'x', keys: Array.from({ length: 33 }, (_, i) => `k${i}`) }, 'keys'],
      [{ topic, body: 'x', properties: { 'bad name': 'v' } }, 'properties.bad name'],
      [{ topic, body: 'x', properties: { region: 7 } }, 'properties.region'],
      [{ topic, body: 'x', messageGroup: '' }, 'messageGroup'],
    ];
    for (const [message, field] of bad) {
      await expect(producer.send(message as never)).rejects.toMatchObject({ constructor: InvalidMessageError, field });
    }
    expect(() => producer.sendOneway({ topic, body: '' })).toThrow(InvalidMessageError);
    await expect(producer.sendBatch([])).rejects.toBeInstanceOf(InvalidMessageError);

    const after = await producer.send({ topic, body: 'still fine' });
    expect(after).toMatchObject({ queueId: ok.queueId, queueOffset: ok.queueOffset + 1 });
    expect((await broker.admin.queryMessage(after.msgId))?.message.body.toString()).toBe('still fine');
    expect(await storedCount(topic)).toBe(2);
  });

  it('sendBatch is all-or-nothing: one bad message stores none of the batch', async () => {
    const broker = await openBroker();
    const topic = uniqueName('batch');
    const other = uniqueName('batch-other');
    await broker.admin.createTopic(topic, { queues: 2 });
    await broker.admin.createTopic(other, { queues: 2 });
    const producer = broker.producer({ group: 'p' });
    await expect(
      producer.sendBatch([
        { topic, body: 'a' },
        { topic, body: 'b', tag: 'x||y' },
      ]),
    ).rejects.toBeInstanceOf(InvalidMessageError);
    await expect(
      producer.sendBatch([
        { topic, body: 'a' },
        { topic: other, body: 'b' },
      ]),
    ).rejects.toMatchObject({ field: 'topic' });
    expect(await storedCount(topic)).toBe(0);
    const receipts = await producer.sendBatch(Array.from({ length: 10 }, (_, i) => ({ topic, body: `m${i}` })));
    expect(receipts).toHaveLength(10);
    expect(new Set(receipts.map((r) => r.msgId)).size).toBe(10);
    expect(await storedCount(topic)).toBe(10);
  });

  it('a message group always maps to the same queue; messages without one spread evenly, one queue per flush', async () => {
    const broker = await openBroker();
    const topic = uniqueName('groups');
    await broker.admin.createTopic(topic, { queues: 8 });
    const producer = broker.producer({ group: 'p' });
    const grouped = await Promise.all(Array.from({ length: 20 }, () => producer.send({ topic, body: 'x', messageGroup: 'order-42' })));
    expect(new Set(grouped.map((r) => r.queueId)).size).toBe(1);
    const spread = [];
    for (let i = 0; i < 80; i += 1) spread.push(await producer.send({ topic, body: 'x' }));
    const perQueue = new Map<number, number>();
    for (const r of spread) perQueue.set(r.queueId, (perQueue.get(r.queueId) ?? 0) + 1);
    expect([...perQueue.values()]).toEqual(Array(8).fill(10));
    // a flush bumps one queue counter per topic (fewer row versions for a long snapshot to keep):
    // a batch lands on one queue, as in RocketMQ, and so does a burst that shares a flush
    const batch = await producer.sendBatch(Array.from({ length: 50 }, () => ({ topic, body: 'y' })));
    expect(new Set(batch.map((r) => r.queueId)).size).toBe(1);
    const offsets = batch.map((r) => r.queueOffset);
    expect(offsets).toEqual(Array.from({ length: 50 }, (_, i) => offsets[0] + i));
  });

  it('sendOneway stores the message without waiting', async () => {
    const broker = await openBroker();
    const topic = uniqueName('oneway');
    await broker.admin.createTopic(topic, { queues: 1 });
    const seen: MessageView[] = [];
    const consumer = broker.pushConsumer({ group: uniqueName('g'), subscriptions: { [topic]: '*' }, handler: (m) => void seen.push(m) });
    await consumer.start();
    const result = broker.producer({ group: 'p' }).sendOneway({ topic, body: 'fire', keys: ['k1'], properties: { a: 'b' } });
    expect(result).toBeUndefined();
    await waitFor(() => seen.length === 1, { what: 'oneway message consumed' });
    expect(seen[0].body.toString()).toBe('fire');
    expect(seen[0].keys).toEqual(['k1']);
    expect(seen[0].properties).toEqual({ a: 'b' });
  });

  it('many concurrent single sends all become durable with distinct offsets', async () => {
    const broker = await openBroker();
    const topic = uniqueName('concurrent');
    await broker.admin.createTopic(topic, { queues: 4 });
    const producer = broker.producer({ group: 'p' });
    const receipts = await Promise.all(Array.from({ length: 1_000 }, (_, i) => producer.send({ topic, body: `m${i}` })));
    const seen = new Set(receipts.map((r) => `${r.queueId}:${r.queueOffset}`));
    expect(seen.size).toBe(1_000);
    expect(await storedCount(topic)).toBe(1_000);
  });
});
