import { Client } from 'pg';
import { BatchTooLargeError, ConsoleLogger, MessageView } from '@herald/broker';
import { PipelinedConnection } from '../src/util/pipelined-connection';
import { useTestDatabase } from '../../../test/support/test-database';
import { waitFor } from '../../../test/support/wait-for';
import { uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db);
const MiB = 1024 * 1024;

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Real sizes: bodies of exactly maxMessageSize (4 MiB), in numbers that once overflowed a flush. */
describe('byte budgets on the send path', () => {
  it('150 concurrent sends of 4 MiB bodies are all stored, and the broker keeps sending, dead-lettering and resending', async () => {
    const broker = await openBroker();
    const topic = uniqueName('big');
    await broker.admin.createTopic(topic, { queues: 4 });
    const producer = broker.producer({ group: 'big-producer' });
    const body = Buffer.alloc(4 * MiB, 7);
    body.write('head', 0);
    const receipts = await Promise.all(Array.from({ length: 150 }, () => producer.send({ topic, body })));
    expect(new Set(receipts.map((r) => r.msgId)).size).toBe(150);
    const stored = await withClient(async (c) => {
      const { rows } = await c.query('SELECT count(*)::int AS n, min(length(body))::int AS lo, max(length(body))::int AS hi FROM herald.messages WHERE topic = $1', [topic]);
      return rows[0] as { n: number; lo: number; hi: number };
    });
    expect(stored).toEqual({ n: 150, lo: 4 * MiB, hi: 4 * MiB });

    // The same broker still sends, dead-letters and resends (all on the append path).
    const group = uniqueName('big-group');
    const seen: MessageView[] = [];
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: 'poison' },
      maxReconsumeTimes: 0,
      consumeFromWhere: 'LAST_OFFSET',
      handler: (message) => {
        seen.push(message);
        if (message.reconsumeTimes === 0 && seen.length === 1) throw new Error('poison');
      },
    });
    await consumer.start();
    const small = await producer.send({ topic, body: 'after the big ones', tag: 'poison' });
    await waitFor(async () => (await broker.admin.listDlq(group)).some((m) => m.msgId === small.msgId), { what: 'the message in the DLQ' });
    await broker.admin.resendDlq(group, [small.msgId]);
    await waitFor(() => seen.filter((m) => m.msgId === small.msgId).length === 2, { what: 'the resent message delivered' });
    await consumer.shutdown();
  }, 120_000);

  it('sendBatch is refused above maxBatchBytes with a typed error naming the limit, nothing stored', async () => {
    const broker = await openBroker();
    const topic = uniqueName('big-batch');
    await broker.admin.createTopic(topic, { queues: 2 });
    const producer = broker.producer({ group: 'big-batch-producer' });
    const body = Buffer.alloc(4 * MiB, 1);
    await expect(producer.sendBatch(Array.from({ length: 70 }, () => ({ topic, body })))).rejects.toMatchObject({
      constructor: BatchTooLargeError,
      code: 'BATCH_TOO_LARGE',
      limit: 4 * MiB,
    });
    expect(await withClient(async (c) => (await c.query('SELECT count(*)::int AS n FROM herald.messages WHERE topic = $1', [topic])).rows[0].n)).toBe(0);
    // one message of exactly the limit is a legal batch
    await expect(producer.sendBatch([{ topic, body }])).resolves.toHaveLength(1);
  }, 60_000);

  it('a raised maxBatchBytes lets 70 x 4 MiB go as one atomic batch', async () => {
    const broker = await openBroker({ maxBatchBytes: 300 * MiB });
    const topic = uniqueName('huge-batch');
    await broker.admin.createTopic(topic, { queues: 2 });
    const producer = broker.producer({ group: 'huge-batch-producer' });
    const body = Buffer.alloc(4 * MiB, 2);
    const receipts = await producer.sendBatch(Array.from({ length: 70 }, () => ({ topic, body })));
    expect(receipts).toHaveLength(70);
    expect((await producer.send({ topic, body: 'next' })).queueOffset).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('the append connection is replaced after a client-side failure that leaves a prepared statement half made', async () => {
    // Internal class, real server: the failure the 4 MiB sends once caused (a throw while
    // encoding the Bind after the Parse went out) must not wedge later queries.
    const connection = new PipelinedConnection({ connectionString: db.url }, new ConsoleLogger('error'));
    try {
      const statement = { name: 'herald_test_echo', text: 'SELECT $1::text AS v' };
      expect((await connection.query<{ v: string }>({ ...statement, values: ['one'] })).rows[0].v).toBe('one');
      const poisoned = { toPostgres: (): string => { throw new RangeError('Invalid string length'); } };
      await expect(connection.query({ name: 'herald_test_other', text: 'SELECT $1::text AS v', values: [poisoned] })).rejects.toThrow(RangeError);
      expect((await connection.query<{ v: string }>({ name: 'herald_test_other', text: 'SELECT $1::text AS v', values: ['two'] })).rows[0].v).toBe('two');
      expect((await connection.query<{ v: string }>({ ...statement, values: ['three'] })).rows[0].v).toBe('three');
    } finally {
      await connection.close();
    }
  });
});
