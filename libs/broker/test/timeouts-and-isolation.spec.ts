import { createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { Broker, BrokerTimeoutError, SendQueueFullError, SendReceipt } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

/** A TCP server that accepts connections and never says a word: a hung PostgreSQL. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Holds the row locks of one topic's queues in an open transaction, as a stuck session would. */
async function lockQueues(topic: string): Promise<{ release: () => Promise<void> }> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM herald.queues WHERE topic = $1 FOR UPDATE', [topic]);
  return {
    release: async () => {
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}

type Outcome = { ok: SendReceipt } | { error: unknown };
const settle = (promise: Promise<SendReceipt>): Promise<Outcome> =>
  promise.then(
    (ok) => ({ ok }),
    (error: unknown) => ({ error }),
  );

describe('timeouts and isolation of broker connections', () => {
  it('Broker.connect to a server that accepts but never answers fails with BrokerTimeoutError after connectTimeout', async () => {
    const server = await silentServer();
    try {
      await expect(Broker.connect({ ...FAST, connectionString: `postgres://nobody@127.0.0.1:${server.port}/none`, connectTimeout: 300 })).rejects.toMatchObject(
        { constructor: BrokerTimeoutError, code: 'BROKER_TIMEOUT', kind: 'connect', operation: 'connect' },
      );
    } finally {
      await server.close();
    }
  }, 15_000);

  it('a locked queue holds up only its own sends, which fail after lockTimeout; other topics keep going', async () => {
    const broker = await openBroker({ lockTimeout: 500 });
    const stuck = uniqueName('stuck');
    const free = uniqueName('free');
    await broker.admin.createTopic(stuck, { queues: 1 });
    await broker.admin.createTopic(free, { queues: 2 });
    const producer = broker.producer({ group: 'isolation' });
    await producer.send({ topic: stuck, body: 'before the lock' });
    const lock = await lockQueues(stuck);
    // The lock is released only in `finally`, after these awaits: had the free sends waited
    // for it, the test would never get there (it times out instead).
    try {
      const stuckSends = Array.from({ length: 10 }, (_, i) => settle(producer.send({ topic: stuck, body: `stuck ${i}` })));
      const freeSends = Array.from({ length: 20 }, (_, i) => settle(producer.send({ topic: free, body: `free ${i}` })));
      const freeOutcomes = await Promise.all(freeSends);
      expect(freeOutcomes.every((o) => 'ok' in o)).toBe(true);
      const stuckOutcomes = await Promise.all(stuckSends);
      for (const outcome of stuckOutcomes) {
        expect('error' in outcome && outcome.error).toMatchObject({ constructor: BrokerTimeoutError, kind: 'lock', operation: 'send' });
      }
    } finally {
      await lock.release();
    }
    // nothing wedged: the queue takes sends again, with gapless offsets
    await expect(producer.send({ topic: stuck, body: 'after the lock' })).resolves.toMatchObject({ queueOffset: 1 });
  }, 30_000);

  it('pending sends are bounded: past maxPendingSends a send fails at once with SendQueueFullError, and the queued ones complete', async () => {
    const broker = await openBroker({ lockTimeout: 0, maxPendingSends: 50 });
    const topic = uniqueName('bounded');
    await broker.admin.createTopic(topic, { queues: 1 });
    const producer = broker.producer({ group: 'bounded' });
    const lock = await lockQueues(topic);
    const queued = Array.from({ length: 50 }, (_, i) => settle(producer.send({ topic, body: `queued ${i}` })));
    try {
      await expect(producer.send({ topic, body: 'one too many' })).rejects.toMatchObject({
        constructor: SendQueueFullError,
        code: 'SEND_QUEUE_FULL',
        limit: 'maxPendingSends',
        max: 50,
      });
      expect(() => producer.sendOneway({ topic, body: 'oneway too' })).toThrow(SendQueueFullError);
    } finally {
      await lock.release();
    }
    const outcomes = await Promise.all(queued);
    expect(outcomes.filter((o) => 'ok' in o)).toHaveLength(50);
    await expect(producer.send({ topic, body: 'room again' })).resolves.toMatchObject({ queueOffset: 50 });
  }, 30_000);

  it('names every role in pg_stat_activity (application_name)', async () => {
    const broker = await openBroker({ applicationName: 'herald-test' });
    const topic = uniqueName('named');
    await broker.admin.createTopic(topic, { queues: 1 });
    const consumer = broker.pushConsumer({ group: uniqueName('named-group'), subscriptions: { [topic]: '*' }, handler: () => undefined });
    await consumer.start();
    await broker.producer({ group: 'named' }).send({ topic, body: 'x', delayLevel: 1 });
    await broker.producer({ group: 'named' }).send({ topic, body: 'y' });
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const names = await waitFor(
        async () => {
          const { rows } = await client.query<{ name: string }>(
            `SELECT DISTINCT application_name AS name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'herald-test:%' ORDER BY 1`,
          );
          const found = rows.map((r) => r.name);
          return found.length === 4 ? found : null;
        },
        { what: 'four named roles' },
      );
      expect(names).toEqual(['herald-test:consumer', 'herald-test:listener', 'herald-test:producer', 'herald-test:scheduler']);
    } finally {
      await client.end();
      await consumer.shutdown();
    }
  });
});
