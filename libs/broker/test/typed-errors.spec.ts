import { Client, DatabaseError } from 'pg';
import { BrokerTimeoutError, HeraldError, InvalidMessageError, InvalidOptionsError, TopicNotFoundError } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

/** Runs `fn`, expecting a HeraldError (never a raw driver error); returns it. */
async function heraldErrorOf(fn: () => Promise<unknown>): Promise<HeraldError> {
  try {
    await fn();
  } catch (error) {
    expect(error).not.toBeInstanceOf(DatabaseError);
    expect(error).toBeInstanceOf(HeraldError);
    return error as HeraldError;
  }
  throw new Error('expected a HeraldError, got success');
}

describe('typed errors at every entry point', () => {
  it('NUL characters and lone surrogates in text fields are refused naming the field; nothing is altered or stored', async () => {
    const broker = await openBroker();
    const topic = uniqueName('text');
    await broker.admin.createTopic(topic, { queues: 1 });
    const producer = broker.producer({ group: 'text' });
    const cases: [object, string][] = [
      [{ tag: 'a\u0000b' }, 'tag'],
      [{ tag: 'bad\uD800' }, 'tag'],
      [{ keys: ['ok', 'k\u0000'] }, 'keys[1]'],
      [{ keys: ['\uDC00lone'] }, 'keys[0]'],
      [{ properties: { region: 'e\u0000u' } }, 'properties.region'],
      [{ properties: { region: '\uD83D' } }, 'properties.region'],
      [{ messageGroup: 'g\u0000' }, 'messageGroup'],
    ];
    for (const [fields, field] of cases) {
      await expect(producer.send({ topic, body: 'x', ...fields })).rejects.toMatchObject({ constructor: InvalidMessageError, field });
      await expect(broker.transactionProducer({ group: 'text-tx', checker: () => 'ROLLBACK' }).sendHalf({ topic, body: 'x', ...fields })).rejects.toMatchObject(
        {
          constructor: InvalidMessageError,
          field,
        },
      );
    }
    // a well-formed pair (an emoji) is fine and stored as sent
    const ok = await producer.send({ topic, body: 'x', tag: 'smile\uD83D\uDE00' });
    expect((await broker.admin.queryMessage(ok.msgId))?.message.tag).toBe('smile\uD83D\uDE00');
    expect((await broker.admin.listTopics()).find((t) => t.name === topic)?.queues[0].maxOffset).toBe(1);
  });

  it('times out of range and malformed ids are InvalidOptionsError naming the field', async () => {
    const broker = await openBroker();
    const topic = uniqueName('ranges');
    await broker.admin.createTopic(topic, { queues: 1 });
    const group = uniqueName('ranges-group');
    expect(() =>
      broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, consumeFromWhere: 'TIMESTAMP', consumeTimestamp: 1e20, handler: () => undefined }),
    ).toThrow(expect.objectContaining({ constructor: InvalidOptionsError, field: 'consumeTimestamp' }));
    const consumer = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler: () => undefined });
    await consumer.start();
    await consumer.shutdown();
    expect(await heraldErrorOf(() => broker.admin.resetOffset(group, topic, 1e20))).toMatchObject({ constructor: InvalidOptionsError, field: 'timestamp' });
    expect(await heraldErrorOf(() => broker.admin.resetOffset(group, topic, -5))).toMatchObject({ constructor: InvalidOptionsError, field: 'timestamp' });
    expect(await heraldErrorOf(() => broker.admin.queryMessagesByKey(topic, 'k\u0000'))).toMatchObject({ constructor: InvalidOptionsError, field: 'key' });
    expect(await heraldErrorOf(() => broker.admin.resolveHalf('tx\u0000', 'COMMIT'))).toMatchObject({
      constructor: InvalidOptionsError,
      field: 'transactionId',
    });
    const tx = broker.transactionProducer({ group: 'ranges-tx', checker: () => 'ROLLBACK' });
    expect(await heraldErrorOf(() => tx.commit('tx\u0000'))).toMatchObject({ constructor: InvalidOptionsError, field: 'transactionId' });
    expect(await heraldErrorOf(() => tx.rollback('\uD800'))).toMatchObject({ constructor: InvalidOptionsError, field: 'transactionId' });

    const simple = broker.simpleConsumer({ group: uniqueName('ranges-simple'), subscriptions: { [topic]: '*' }, consumeFromWhere: 'FIRST_OFFSET' });
    await broker.producer({ group: 'ranges' }).send({ topic, body: 'm' });
    const [message] = await simple.receive({ maxMessages: 1 });
    expect(await heraldErrorOf(() => simple.ack({ ...message, queueOffset: Number.NaN }))).toMatchObject({
      constructor: InvalidOptionsError,
      field: 'message',
    });
    expect(await heraldErrorOf(() => simple.ack({ ...message, receiptHandle: 'r\u0000' }))).toMatchObject({
      constructor: InvalidOptionsError,
      field: 'message',
    });
    // the real message is still acknowledgeable: nothing was wedged by the bad calls
    await simple.ack(message);
  });

  it('a simple consumer whose first receive failed recovers: preparation is retried, the error is typed', async () => {
    const broker = await openBroker();
    const topic = uniqueName('later');
    const simple = broker.simpleConsumer({ group: uniqueName('later-group'), subscriptions: { [topic]: '*' }, consumeFromWhere: 'FIRST_OFFSET' });
    await expect(simple.receive()).rejects.toMatchObject({ constructor: TopicNotFoundError, topic });
    await broker.admin.createTopic(topic, { queues: 2 });
    const sent = await broker.producer({ group: 'later' }).send({ topic, body: 'now it exists' });
    const got = await simple.receive({ maxMessages: 4 });
    expect(got.map((m) => m.msgId)).toEqual([sent.msgId]);
  });

  it('store failures of admin calls reach the caller as HeraldErrors (a lock timeout here), not raw DatabaseErrors', async () => {
    const broker = await openBroker({ lockTimeout: 200 });
    const topic = uniqueName('locked-topic');
    await broker.admin.createTopic(topic, { queues: 1 });
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM herald.topics WHERE name = $1 FOR UPDATE', [topic]);
      expect(await heraldErrorOf(() => broker.admin.deleteTopic(topic))).toMatchObject({
        constructor: BrokerTimeoutError,
        kind: 'lock',
        operation: 'delete topic',
      });
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    await expect(broker.admin.deleteTopic(topic)).resolves.toBe(true);
  });
});
