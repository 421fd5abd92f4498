import { MessageView } from '@herald/broker';
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

interface HandleEvent {
  member: number;
  group: string;
  seq: number;
  at: number;
  ok: boolean;
}

function events(child: ChildScript, member: number): HandleEvent[] {
  return child.lines
    .filter((line) => line.startsWith('handled '))
    .map((line) => {
      const [, , , body, at, result] = line.split(' ');
      const [group, seq] = body.split(':');
      return { member, group, seq: Number(seq), at: Number(at), ok: result === 'ok' };
    });
}

describe('orderly consumption', () => {
  it('keeps per-group order across 4 members with random failures and a member SIGKILLed mid-stream', async () => {
    const broker = await openBroker();
    const topic = uniqueName('ordered');
    const group = uniqueName('in-order');
    await broker.admin.createTopic(topic, { queues: 8 });
    const env = { BROKER_URL: db.url, TOPIC: topic, GROUP: group, ORDERLY: '1', FAIL_RATE: '0.1', HANDLER_MS: '1' };
    const members = [0, 1, 2, 3].map(() => {
      const child = ChildScript.start('test/fixtures/broker-consumer.child.ts', env);
      children.push(child);
      return child;
    });
    for (const member of members) await member.waitForLine(/^ready$/);
    await waitFor(async () => (await broker.admin.groupMembers(group)).filter((m) => m.queues.some((q) => q.topic === topic)).length === 4, {
      what: 'four members holding queues',
    });
    const producer = broker.producer({ group: 'p' });
    const groups = 24;
    const perGroup = 40;
    for (let seq = 0; seq < perGroup; seq += 1) {
      await producer.sendBatch(Array.from({ length: groups }, (_, g) => ({ topic, body: `g${g}:${seq}`, messageGroup: `g${g}` })));
    }
    await waitFor(() => events(members[0], 0).filter((e) => e.ok).length > 30, { what: 'victim handled some messages' });
    await members[0].kill('SIGKILL');
    const all = (): HandleEvent[] => members.flatMap((child, i) => events(child, i));
    await waitFor(
      () => {
        const done = new Set(
          all()
            .filter((e) => e.ok)
            .map((e) => `${e.group}:${e.seq}`),
        );
        return done.size === groups * perGroup;
      },
      { timeoutMs: 60_000, what: 'every message handled successfully' },
    );
    let failures = 0;
    let rewinds = 0;
    for (let g = 0; g < groups; g += 1) {
      const successes = all()
        .filter((e) => e.ok && e.group === `g${g}`)
        .sort((a, b) => a.at - b.at);
      failures += all().filter((e) => !e.ok && e.group === `g${g}`).length;
      let previous = successes[0];
      expect(previous.seq).toBe(0);
      for (const event of successes.slice(1)) {
        if (event.seq <= previous.seq) {
          // a rewind is only allowed when the queue moved to another member (re-delivery after the kill)
          expect(event.member).not.toBe(previous.member);
          rewinds += 1;
        } else {
          // never a message before its predecessor
          expect(event.seq).toBe(previous.seq + 1);
        }
        previous = event;
      }
    }
    expect(failures).toBeGreaterThan(0);
    console.log(`orderly: ${groups * perGroup} messages, ${failures} injected failures retried in place, ${rewinds} re-deliveries after the SIGKILL`);
  });
});

describe('broadcasting', () => {
  it('delivers every message to every member, retries failures in place, and a restarted member resumes', async () => {
    const topic = uniqueName('news');
    const group = uniqueName('listeners');
    const [a, b] = await Promise.all([openBroker(), openBroker()]);
    await a.admin.createTopic(topic, { queues: 4 });
    const gotA: MessageView[] = [];
    const gotB: string[] = [];
    let failedOnce = false;
    const memberA = a.pushConsumer({
      group,
      model: 'BROADCASTING',
      instanceName: 'member-a',
      subscriptions: { [topic]: '*' },
      handler: (m) => {
        gotA.push(m);
        if (m.body.toString() === 'flaky' && !failedOnce) {
          failedOnce = true;
          throw new Error('first attempt fails');
        }
      },
    });
    const makeB = () =>
      b.pushConsumer({
        group,
        model: 'BROADCASTING',
        instanceName: 'member-b',
        subscriptions: { [topic]: '*' },
        offsetCommitInterval: 20,
        handler: (m) => void gotB.push(m.body.toString()),
      });
    const memberB = makeB();
    await memberA.start();
    await memberB.start();
    const producer = a.producer({ group: 'p' });
    await producer.sendBatch(Array.from({ length: 20 }, (_, i) => ({ topic, body: `m${i}` })));
    await producer.send({ topic, body: 'flaky' });
    await waitFor(() => gotB.length === 21 && gotA.filter((m) => m.body.toString() !== 'flaky').length === 20 && gotA.length === 22, {
      what: 'both members got everything, flaky twice on A',
    });
    const flaky = gotA.filter((m) => m.body.toString() === 'flaky');
    expect(flaky.map((m) => m.reconsumeTimes)).toEqual([0, 1]);
    expect(flaky[0].msgId).toBe(flaky[1].msgId);
    expect(await a.admin.listDlq(group)).toEqual([]);

    await memberB.shutdown();
    await producer.sendBatch(Array.from({ length: 5 }, (_, i) => ({ topic, body: `while-down-${i}` })));
    const restarted = makeB();
    await restarted.start();
    await waitFor(() => gotB.length === 26, { what: 'restarted member caught up' });
    expect(gotB.slice(21).sort()).toEqual(['while-down-0', 'while-down-1', 'while-down-2', 'while-down-3', 'while-down-4']);
    await waitFor(() => gotA.length === 27, { what: 'member A got the new messages too' });
  });

  it('refuses orderly broadcasting and bad instance names', async () => {
    const broker = await openBroker();
    const topic = uniqueName('refused');
    await broker.admin.createTopic(topic, { queues: 1 });
    expect(() => broker.pushConsumer({ group: 'g', model: 'BROADCASTING', orderly: true, subscriptions: { [topic]: '*' }, handler: () => undefined })).toThrow(
      expect.objectContaining({ field: 'orderly' }),
    );
    expect(() =>
      broker.pushConsumer({ group: 'g', model: 'BROADCASTING', instanceName: 'bad name', subscriptions: { [topic]: '*' }, handler: () => undefined }),
    ).toThrow(expect.objectContaining({ field: 'instanceName' }));
  });
});
