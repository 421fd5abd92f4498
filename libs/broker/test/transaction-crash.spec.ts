import { Client } from 'pg';
import { Broker, MessageView, TransactionProducer } from '@herald/broker';
import { ChildScript } from '@herald/test-support/child-process';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);
const children: ChildScript[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
});

beforeAll(async () => {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  await client.query('CREATE TABLE IF NOT EXISTS public.local_orders (transaction_id text PRIMARY KEY)');
  await client.end();
});

/** The checker a service would write: COMMIT when its local record exists, else ROLLBACK. */
function recordChecker(): { check: (m: MessageView & { transactionId: string }) => Promise<'COMMIT' | 'ROLLBACK'>; close: () => Promise<void> } {
  const client = new Client({ connectionString: db.url });
  const connected = client.connect();
  return {
    check: async (m) => {
      await connected;
      const { rows } = await client.query('SELECT 1 FROM public.local_orders WHERE transaction_id = $1', [m.transactionId]);
      return rows.length > 0 ? 'COMMIT' : 'ROLLBACK';
    },
    close: async () => {
      await connected;
      await client.end();
    },
  };
}

async function crashScenario(mode: string): Promise<{ broker: Broker; topic: string; group: string; transactionId: string; msgId: string }> {
  const broker = await openBroker();
  const topic = uniqueName(`tx-crash-${mode}`);
  const group = uniqueName('crashing-producers');
  await broker.admin.createTopic(topic, { queues: 2 });
  const child = ChildScript.start('test/fixtures/tx-producer.child.ts', { BROKER_URL: db.url, TOPIC: topic, GROUP: group, MODE: mode });
  children.push(child);
  const [, transactionId, msgId] = (await child.waitForLine(/^ready /)).split(' ');
  if (mode !== 'commit-crash') await child.kill('SIGKILL');
  await child.exited;
  return { broker, topic, group, transactionId, msgId };
}

async function visibleCopies(broker: Broker, topic: string, msgId: string): Promise<number> {
  const result = await broker.admin.queryMessage(msgId);
  return result ? result.trace.stored.filter((s) => s.topic === topic).length : 0;
}

describe('transactional messages across crashes', () => {
  let survivor: TransactionProducer | undefined;
  let checker: ReturnType<typeof recordChecker> | undefined;
  afterEach(async () => {
    await survivor?.shutdown();
    await checker?.close();
    survivor = undefined;
    checker = undefined;
  });

  async function startSurvivor(broker: Broker, group: string): Promise<void> {
    checker = recordChecker();
    survivor = broker.transactionProducer({ group, checker: checker.check, transactionTimeout: 200 });
    await survivor.start();
  }

  it('SIGKILL between sendHalf and commit, local record written: another member commits it', async () => {
    const { broker, topic, group, msgId } = await crashScenario('half-then-record');
    await startSurvivor(broker, group);
    await waitFor(async () => (await broker.admin.listHalfMessages({ group })).length === 0, { what: 'half resolved by check-back' });
    expect(await visibleCopies(broker, topic, msgId)).toBe(1);
  });

  it('SIGKILL between sendHalf and commit, no local record: another member rolls it back', async () => {
    const { broker, topic, group, msgId } = await crashScenario('half-only');
    await startSurvivor(broker, group);
    await waitFor(async () => (await broker.admin.listHalfMessages({ group })).length === 0, { what: 'half resolved by check-back' });
    expect(await visibleCopies(broker, topic, msgId)).toBe(0);
  });

  it('SIGKILL right after the commit call is issued: exactly one message once resolved', async () => {
    const { broker, topic, group, msgId } = await crashScenario('commit-crash');
    await startSurvivor(broker, group);
    await waitFor(async () => (await broker.admin.listHalfMessages({ group })).length === 0, { what: 'half committed or checked back' });
    expect(await visibleCopies(broker, topic, msgId)).toBe(1);
    const got: string[] = [];
    const consumer = broker.pushConsumer({
      group: uniqueName('once'),
      subscriptions: { [topic]: '*' },
      consumeFromWhere: 'FIRST_OFFSET',
      handler: (m) => void got.push(m.msgId),
    });
    await consumer.start();
    await waitFor(() => got.length === 1, { what: 'delivered' });
    expect(got).toEqual([msgId]);
  });
});
