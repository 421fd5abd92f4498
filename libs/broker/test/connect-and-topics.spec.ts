import { Pool } from 'pg';
import { Broker, InvalidOptionsError, InvalidTopicNameError, SchemaVersionTooNewError, TopicConflictError, TopicNotFoundError } from '@herald/broker';
import { loadMigrations } from '@herald/broker/internal';
import { useTestDatabase } from '@herald/test-support/test-database';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

describe('Broker.connect', () => {
  it.each([
    [{ connectionString: '' }, 'connectionString'],
    [{ connectionString: 'postgres://x', schema: 'Bad-Schema' }, 'schema'],
    [{ connectionString: 'postgres://x', poolSize: 0 }, 'poolSize'],
    [{ connectionString: 'postgres://x', maxMessageSize: -1 }, 'maxMessageSize'],
    [{ connectionString: 'postgres://x', delayLevels: [1, 2, 3] }, 'delayLevels'],
    [{ connectionString: 'postgres://x', heartbeatInterval: 5_000, sessionTimeout: 1_000 }, 'sessionTimeout'],
    [{ connectionString: 'postgres://x', autoCreateTopics: 'yes' }, 'autoCreateTopics'],
  ])('refuses %j with InvalidOptionsError naming %s', async (options, field) => {
    const attempt = Broker.connect(options as never);
    await expect(attempt).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(attempt).rejects.toMatchObject({ field, code: 'INVALID_OPTIONS' });
  });

  it('migrates a new schema once when several processes start at once', async () => {
    const brokers = await Promise.all(Array.from({ length: 5 }, () => openBroker({ schema: 'concurrent_start' })));
    expect(brokers).toHaveLength(5);
    const pool = new Pool({ connectionString: db.url });
    try {
      const { rows } = await pool.query('SELECT version FROM concurrent_start.schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(loadMigrations().map((m) => m.version));
    } finally {
      await pool.end();
    }
  });

  it('refuses to start against a newer schema version', async () => {
    await (await openBroker({ schema: 'from_future' })).close();
    const pool = new Pool({ connectionString: db.url });
    try {
      await pool.query("INSERT INTO from_future.schema_migrations (version, name) VALUES (999, '999_future')");
    } finally {
      await pool.end();
    }
    const attempt = openBroker({ schema: 'from_future' });
    await expect(attempt).rejects.toBeInstanceOf(SchemaVersionTooNewError);
    await expect(attempt).rejects.toMatchObject({ found: 999, supported: loadMigrations().at(-1)!.version });
  });
});

describe('topics', () => {
  it('createTopic is idempotent for the same queue count and refuses another', async () => {
    const broker = await openBroker();
    const topic = uniqueName('orders');
    await broker.admin.createTopic(topic, { queues: 4 });
    await broker.admin.createTopic(topic, { queues: 4 });
    await expect(broker.admin.createTopic(topic, { queues: 6 })).rejects.toMatchObject({
      constructor: TopicConflictError,
      existingQueues: 4,
      requestedQueues: 6,
    });
    const info = (await broker.admin.listTopics()).find((t) => t.name === topic);
    expect(info?.queues.map((q) => q.queueId)).toEqual([0, 1, 2, 3]);
  });

  it('defaults to 8 queues', async () => {
    const broker = await openBroker();
    const topic = uniqueName('defaults');
    await broker.admin.createTopic(topic);
    expect((await broker.admin.listTopics()).find((t) => t.name === topic)?.queues).toHaveLength(8);
  });

  it("createTopic without a count takes the broker's defaultTopicQueues, as auto-created topics do", async () => {
    const broker = await openBroker({ defaultTopicQueues: 3, autoCreateTopics: true });
    const created = uniqueName('default-count');
    const auto = uniqueName('auto-count');
    await broker.admin.createTopic(created);
    await broker.producer({ group: 'p' }).send({ topic: auto, body: 'x' });
    const topics = await broker.admin.listTopics();
    expect(topics.find((t) => t.name === created)?.queues).toHaveLength(3);
    expect(topics.find((t) => t.name === auto)?.queues).toHaveLength(3);
  });

  it.each(['', 'has space', 'x'.repeat(128), 'semi;colon', '%RETRY%mine', '%DLQ%mine'])('refuses the topic name %j', async (name) => {
    const broker = await openBroker();
    await expect(broker.admin.createTopic(name)).rejects.toBeInstanceOf(InvalidTopicNameError);
    await expect(broker.producer({ group: 'p' }).send({ topic: name, body: 'x' })).rejects.toBeInstanceOf(InvalidTopicNameError);
  });

  it('refuses a bad queue count', async () => {
    const broker = await openBroker();
    await expect(broker.admin.createTopic(uniqueName('q'), { queues: 0 })).rejects.toMatchObject({ field: 'queues' });
    await expect(broker.admin.createTopic(uniqueName('q'), { queues: 2.5 })).rejects.toBeInstanceOf(InvalidOptionsError);
  });

  it('sending to an unknown topic is TopicNotFoundError, unless autoCreateTopics is on', async () => {
    const strict = await openBroker();
    const topic = uniqueName('unknown');
    await expect(strict.producer({ group: 'p' }).send({ topic, body: 'x' })).rejects.toMatchObject({
      constructor: TopicNotFoundError,
      topic,
    });
    const lenient = await openBroker({ autoCreateTopics: true, defaultTopicQueues: 3 });
    const receipt = await lenient.producer({ group: 'p' }).send({ topic, body: 'x' });
    expect(receipt.queueOffset).toBe(0);
    expect((await strict.admin.listTopics()).find((t) => t.name === topic)?.queues).toHaveLength(3);
  });

  it('deleteTopic removes it; later sends fail with TopicNotFoundError even from a cached producer', async () => {
    const a = await openBroker();
    const b = await openBroker();
    const topic = uniqueName('doomed');
    await a.admin.createTopic(topic, { queues: 2 });
    const producer = b.producer({ group: 'p' });
    await producer.send({ topic, body: 'before' });
    expect(await a.admin.deleteTopic(topic)).toBe(true);
    expect(await a.admin.deleteTopic(topic)).toBe(false);
    await expect(producer.send({ topic, body: 'after' })).rejects.toBeInstanceOf(TopicNotFoundError);
    expect((await a.admin.listTopics()).some((t) => t.name === topic)).toBe(false);
  });
});
