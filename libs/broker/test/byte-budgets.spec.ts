import { Client } from 'pg';
import { BatchTooLargeError, ConsoleLogger, MessageView } from '@herald/broker';
// white-box: the pipelined append connection is internal; its byte limits are tested directly
import { PipelinedConnection } from '../src/util/pipelined-connection';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';
import { backgroundJobs } from '@herald/broker/internal';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);
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
      const { rows } = await c.query(
        'SELECT count(*)::int AS n, min(length(body))::int AS lo, max(length(body))::int AS hi FROM herald.messages WHERE topic = $1',
        [topic],
      );
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

  it('260 delayed 4 MiB messages (over 1 GiB due at once) are all moved, and other delays keep flowing', async () => {
    const broker = await openBroker({ runScheduler: false });
    const topic = uniqueName('big-delayed');
    const small = uniqueName('small-delayed');
    await broker.admin.createTopic(topic, { queues: 4 });
    await broker.admin.createTopic(small, { queues: 1 });
    const producer = broker.producer({ group: 'big-delayed-producer' });
    const body = Buffer.alloc(4 * MiB, 5);
    // 260 x 4 MiB: more than the 1 GiB PostgreSQL allows in one array, which a count-only pass gathered
    for (let i = 0; i < 26; i += 1) await Promise.all(Array.from({ length: 10 }, () => producer.send({ topic, body, delayLevel: 1 })));
    const tiny = await producer.send({ topic: small, body: 'a small delay behind the big ones', delayLevel: 1 });
    const allDue = 'SELECT bool_and(due_at <= clock_timestamp()) AS due FROM herald.scheduled_messages WHERE topic IN ($1, $2)';
    await waitFor(() => withClient(async (c) => (await c.query<{ due: boolean }>(allDue, [topic, small])).rows[0].due), { what: 'all of them due' });
    const pass = await backgroundJobs(broker).dueMessageMover.runOnce();
    expect(pass.moved).toBe(261);
    const stored = await withClient(async (c) => (await c.query('SELECT count(*)::int AS n FROM herald.messages WHERE topic = $1', [topic])).rows[0].n);
    expect(stored).toBe(260);
    expect((await broker.admin.queryMessage(tiny.msgId))?.trace.stored).toHaveLength(1);
  }, 180_000);

  it('a due message that cannot be moved is deferred, and the ones behind it still move', async () => {
    const broker = await openBroker({ runScheduler: false });
    const topic = uniqueName('poisoned-delay');
    await broker.admin.createTopic(topic, { queues: 1 });
    // A row the append refuses, whatever the reason (here a constraint of this test's own database).
    await withClient((c) => c.query("ALTER TABLE herald.messages ADD CONSTRAINT test_refuse_poison CHECK (tag IS DISTINCT FROM 'poison') NOT VALID"));
    try {
      const producer = broker.producer({ group: 'poisoned-delay-producer' });
      const poison = await producer.send({ topic, body: 'refused', tag: 'poison', delayLevel: 1 });
      const fine = await Promise.all(Array.from({ length: 5 }, (_, i) => producer.send({ topic, body: `fine ${i}`, delayLevel: 1 })));
      const allDue = 'SELECT bool_and(due_at <= clock_timestamp()) AS due FROM herald.scheduled_messages WHERE topic = $1';
      await waitFor(() => withClient(async (c) => (await c.query<{ due: boolean }>(allDue, [topic])).rows[0].due), { what: 'all due' });
      const pass = await backgroundJobs(broker).dueMessageMover.runOnce();
      expect(pass.moved).toBe(5);
      for (const receipt of fine) expect((await broker.admin.queryMessage(receipt.msgId))?.trace.stored).toHaveLength(1);
      const waiting = await withClient(
        async (c) =>
          (
            await c.query<{ later: boolean }>(
              "SELECT due_at > clock_timestamp() + interval '30 seconds' AS later FROM herald.scheduled_messages WHERE msg_id = $1",
              [poison.msgId],
            )
          ).rows,
      );
      expect(waiting).toEqual([{ later: true }]);
    } finally {
      await withClient((c) => c.query('ALTER TABLE herald.messages DROP CONSTRAINT test_refuse_poison'));
    }
  });

  it('a simple consumer receives large messages in byte-bounded batches, none lost', async () => {
    const broker = await openBroker();
    const topic = uniqueName('big-pull');
    await broker.admin.createTopic(topic, { queues: 1 });
    const producer = broker.producer({ group: 'big-pull-producer' });
    const body = Buffer.alloc(4 * MiB, 6);
    const sent = await Promise.all(Array.from({ length: 40 }, () => producer.send({ topic, body })));
    const simple = broker.simpleConsumer({ group: uniqueName('big-pull-group'), subscriptions: { [topic]: '*' }, consumeFromWhere: 'FIRST_OFFSET' });
    const got = new Set<string>();
    let largest = 0;
    await waitFor(
      async () => {
        const batch = await simple.receive({ maxMessages: 1_024 });
        largest = Math.max(
          largest,
          batch.reduce((n, m) => n + m.body.length, 0),
        );
        for (const m of batch) {
          got.add(m.msgId);
          await simple.ack(m);
        }
        return got.size === sent.length;
      },
      { timeoutMs: 60_000, what: 'every large message received' },
    );
    // the broker's maxFlushBytes (16 MiB) bounds a receive, not maxMessages x 4 MiB
    expect(largest).toBeLessThanOrEqual(16 * MiB);
  }, 120_000);

  it('the append connection is replaced after a client-side failure that leaves a prepared statement half made', async () => {
    // Internal class, real server: the failure the 4 MiB sends once caused (a throw while
    // encoding the Bind after the Parse went out) must not wedge later queries.
    const connection = new PipelinedConnection({ connectionString: db.url }, new ConsoleLogger('error'));
    try {
      const statement = { name: 'herald_test_echo', text: 'SELECT $1::text AS v' };
      expect((await connection.query<{ v: string }>({ ...statement, values: ['one'] })).rows[0].v).toBe('one');
      const poisoned = {
        toPostgres: (): string => {
          throw new RangeError('Invalid string length');
        },
      };
      await expect(connection.query({ name: 'herald_test_other', text: 'SELECT $1::text AS v', values: [poisoned] })).rejects.toThrow(RangeError);
      expect((await connection.query<{ v: string }>({ name: 'herald_test_other', text: 'SELECT $1::text AS v', values: ['two'] })).rows[0].v).toBe('two');
      expect((await connection.query<{ v: string }>({ ...statement, values: ['three'] })).rows[0].v).toBe('three');
    } finally {
      await connection.close();
    }
  });
});
