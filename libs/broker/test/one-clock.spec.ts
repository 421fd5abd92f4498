import { Client } from 'pg';
import { useTestDatabase } from '@herald/test-support/test-database';
import { FAST, uniqueName, useBrokers } from './helpers';
import { backgroundJobs } from '@herald/broker/internal';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

/**
 * This process's wall clock set `skewMs` off the database's (the database itself is
 * real and untouched). Every comparison with a stored time must still hold.
 */
function skewNodeClock(skewMs: number): () => void {
  const realNow = Date.now.bind(Date);
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skewMs);
  return () => spy.mockRestore();
}

async function storedCount(topic: string): Promise<number> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM herald.messages WHERE topic = $1', [topic])).rows[0].n;
  } finally {
    await client.end();
  }
}

describe('one clock: stored times are compared on the database clock', () => {
  afterEach(() => jest.restoreAllMocks());

  it('a new LAST_OFFSET simple-consumer group gets a message sent after it was created, with this host 5 s ahead', async () => {
    const broker = await openBroker();
    const topic = uniqueName('skew-pull');
    await broker.admin.createTopic(topic, { queues: 1 });
    const restore = skewNodeClock(5_000);
    try {
      const simple = broker.simpleConsumer({ group: uniqueName('skew-pullers'), subscriptions: { [topic]: '*' } });
      const sent = await broker.producer({ group: 'skew' }).send({ topic, body: 'after creation' });
      const got = await simple.receive({ maxMessages: 8 });
      expect(got.map((m) => m.msgId)).toEqual([sent.msgId]);
    } finally {
      restore();
    }
  });

  it('retention keeps a message younger than the retention, with this host 10 s ahead', async () => {
    const broker = await openBroker({ retention: 5_000, runRetention: false });
    const topic = uniqueName('skew-retention');
    await broker.admin.createTopic(topic, { queues: 1 });
    await broker.producer({ group: 'skew' }).send({ topic, body: 'fresh' });
    const restore = skewNodeClock(10_000);
    try {
      await backgroundJobs(broker).retention.runOnce();
    } finally {
      restore();
    }
    expect(await storedCount(topic)).toBe(1);
  });
});
