import { Pool } from 'pg';
import { Broker, MessageView } from '@herald/broker';
import { ChildScript } from '@herald/test-support/child-process';
import { PrivatePostgres } from '@herald/test-support/private-postgres';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);
const children: ChildScript[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
});

function startChild(script: string, env: Record<string, string>): ChildScript {
  const child = ChildScript.start(script, { BROKER_URL: db.url, ...env });
  children.push(child);
  return child;
}

const handledIds = (child: ChildScript): string[] => child.lines.filter((line) => line.startsWith('handled ')).map((line) => line.split(' ')[1]);

async function consumeAll(broker: Broker, topic: string, expected: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const consumer = broker.pushConsumer({
    group: uniqueName('verifier'),
    subscriptions: { [topic]: '*' },
    consumeFromWhere: 'FIRST_OFFSET',
    handler: (m: MessageView) => void seen.set(m.msgId, (seen.get(m.msgId) ?? 0) + 1),
  });
  await consumer.start();
  await waitFor(() => seen.size >= expected, { timeoutMs: 30_000, what: `${expected} messages consumed` });
  await consumer.shutdown();
  return seen;
}

describe('crashes', () => {
  it('messages acknowledged by send survive a SIGKILL of the producer process', async () => {
    const broker = await openBroker();
    const topic = uniqueName('durable');
    await broker.admin.createTopic(topic, { queues: 4 });
    const producer = startChild('test/fixtures/broker-producer.child.ts', { TOPIC: topic });
    await producer.waitForLine(/^ready$/);
    await waitFor(() => producer.lines.length > 2_000, { timeoutMs: 30_000, what: 'producer acknowledged 2 000 sends' });
    await producer.kill('SIGKILL');
    const acked = producer.lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4));
    const seen = await consumeAll(broker, topic, acked.length);
    const lost = acked.filter((id) => !seen.has(id));
    expect(lost).toEqual([]);
  });

  it('a SIGKILLed member hands its queues to the others and every message is still handled', async () => {
    const broker = await openBroker();
    const topic = uniqueName('kill-member');
    const group = uniqueName('survivors');
    await broker.admin.createTopic(topic, { queues: 8 });
    const env = { TOPIC: topic, GROUP: group, HANDLER_MS: '1' };
    const members = [0, 1, 2].map(() => startChild('test/fixtures/broker-consumer.child.ts', env));
    for (const member of members) await member.waitForLine(/^ready$/);
    await waitFor(async () => (await broker.admin.groupMembers(group)).filter((m) => m.queues.length > 0).length === 3, {
      what: 'three members holding queues',
    });
    const producer = broker.producer({ group: 'p' });
    const sent: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const receipts = await producer.sendBatch(Array.from({ length: 1_000 }, (_, j) => ({ topic, body: `m${i}-${j}` })));
      sent.push(...receipts.map((r) => r.msgId));
    }
    await waitFor(() => handledIds(members[0]).length > 200, { what: 'victim has handled some messages' });
    await members[0].kill('SIGKILL');
    const survivors = members.slice(1);
    await waitFor(
      () => {
        const handled = new Set([...members.flatMap(handledIds)]);
        return sent.every((id) => handled.has(id));
      },
      { timeoutMs: 60_000, what: 'every message handled after the kill' },
    );
    const all = members.flatMap(handledIds);
    const duplicates = all.length - new Set(all).size;
    // Duplicates are allowed only around the kill: messages the victim ran but had not
    // committed yet, run again by the member that took its queue over.
    const victim = new Set(handledIds(members[0]));
    const survivorCounts = new Map<string, number>();
    for (const id of survivors.flatMap(handledIds)) survivorCounts.set(id, (survivorCounts.get(id) ?? 0) + 1);
    expect([...survivorCounts.values()].filter((n) => n > 1)).toEqual([]);
    expect(victim.size).toBe(handledIds(members[0]).length);
    console.log(`clustering kill: ${sent.length} messages, ${duplicates} handled twice around the SIGKILL`);
    expect(survivors.every((s) => handledIds(s).length > 0)).toBe(true);
    const assigned = await broker.admin.groupMembers(group);
    expect(assigned).toHaveLength(2);
    expect(assigned.flatMap((m) => m.queues.filter((q) => q.topic === topic))).toHaveLength(8);
  });

  it('a retry pending when every process dies is delivered after restart', async () => {
    const broker = await openBroker();
    const topic = uniqueName('retry-survives');
    const group = uniqueName('phoenix');
    await broker.admin.createTopic(topic, { queues: 1 });
    // first retry (delay level 3) due in 1.5 s: long enough to kill everything before it is due
    const delayLevels = [10, 50, 1_500, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000];
    const child = startChild('test/fixtures/broker-consumer.child.ts', { TOPIC: topic, GROUP: group, FAIL: '1', DELAY_LEVELS: JSON.stringify(delayLevels) });
    await child.waitForLine(/^ready$/);
    const receipt = await broker.producer({ group: 'p' }).send({ topic, body: 'survive me' });
    await waitFor(async () => (await broker.admin.queryMessage(receipt.msgId))?.trace.pendingRetries.length === 1, {
      what: 'retry stored by the child',
    });
    // and the original's offset committed, so what comes back after the restart is the retry itself
    await waitFor(async () => (await broker.admin.groupProgress(group)).find((q) => q.topic === topic)?.consumerOffset === 1, {
      what: 'original offset committed',
    });
    await child.kill('SIGKILL');
    await broker.close();

    const restarted = await Broker.connect({ connectionString: db.url, ...FAST, delayLevels });
    try {
      const got: MessageView[] = [];
      const consumer = restarted.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler: (m) => void got.push(m) });
      await consumer.start();
      await waitFor(() => got.length === 1, { what: 'retry delivered after restart' });
      expect(got[0]).toMatchObject({ msgId: receipt.msgId, reconsumeTimes: 1, topic });
      await consumer.shutdown();
    } finally {
      await restarted.close();
    }
  });
});

describe('PostgreSQL restart', () => {
  let server: PrivatePostgres | undefined;
  beforeAll(async () => {
    server = await PrivatePostgres.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('acknowledged messages survive an immediate-mode restart, and a running broker carries on', async () => {
    const url = server!.url;
    const broker = await Broker.connect({ connectionString: url, ...FAST });
    try {
      const topic = 'restart-topic';
      await broker.admin.createTopic(topic, { queues: 4 });
      const seen = new Set<string>();
      const consumer = broker.pushConsumer({
        group: 'restart-group',
        subscriptions: { [topic]: '*' },
        consumeFromWhere: 'FIRST_OFFSET',
        handler: (m) => void seen.add(m.msgId),
      });
      const producer = broker.producer({ group: 'p' });
      const before = await Promise.all(Array.from({ length: 500 }, (_, i) => producer.send({ topic, body: `before-${i}` })));
      await server!.crashAndRestart();
      const pool = new Pool({ connectionString: url });
      try {
        const { rows } = await pool.query('SELECT count(*)::int AS n FROM herald.messages WHERE topic = $1', [topic]);
        expect(rows[0].n).toBe(500);
      } finally {
        await pool.end();
      }
      await consumer.start();
      const after = await waitFor(
        async () => {
          try {
            return await producer.send({ topic, body: 'after' });
          } catch {
            return null;
          }
        },
        { timeoutMs: 20_000, what: 'send works again after the restart' },
      );
      await waitFor(() => [...before, after].every((r) => seen.has(r.msgId)), { timeoutMs: 30_000, what: 'all messages consumed' });
      await consumer.shutdown();
    } finally {
      await broker.close();
    }
  });
});
