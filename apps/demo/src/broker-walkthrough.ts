/**
 * `npm run walkthrough`: a short, readable walkthrough of the broker on a real PostgreSQL
 * (embedded, or DATABASE_URL): a topic, two clustering consumers and a producer,
 * a retry on the decaying schedule and a dead-lettered message.
 */
import { Broker, ConsoleLogger, dlqTopicOf, MessageView } from '@herald/broker';
import { openDevPostgres, waitFor } from '@herald/testing';

const say = (text: string): void => console.log(text);
const step = (n: number, title: string): void => say(`\n${n}. ${title}`);

/** Demo-sized delay levels: the real schedule is 1s 5s 10s 30s 1m ...; here 20 ms ... */
const DEMO_DELAY_LEVELS = [20, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600];

const until = (condition: () => boolean | Promise<boolean>, what: string): Promise<true> => waitFor(condition, { what, timeoutMs: 15_000, intervalMs: 20 });

async function main(): Promise<void> {
  say('Herald broker walkthrough');
  step(1, 'PostgreSQL');
  const postgres = await openDevPostgres();
  const { server } = postgres;
  say(server ? `   started embedded PostgreSQL on 127.0.0.1:${server.port} (data in ${server.dataDir})` : '   using the external server from DATABASE_URL');

  const broker = await Broker.connect({
    connectionString: postgres.url,
    delayLevels: DEMO_DELAY_LEVELS,
    heartbeatInterval: 200,
    sessionTimeout: 2_000,
    logger: new ConsoleLogger('error'),
  });
  try {
    const run = Date.now().toString(36);
    const topic = `demo-orders-${run}`;
    const group = `demo-workers-${run}`;
    step(2, 'Topic');
    await broker.admin.createTopic(topic, { queues: 4 });
    say(`   created "${topic}" with 4 queues`);

    step(3, 'Two consumers join one CLUSTERING group');
    const handled = new Map<string, string[]>();
    const attempts = new Map<string, MessageView[]>();
    const makeWorker = (name: string) =>
      broker.pushConsumer({
        group,
        subscriptions: { [topic]: 'OrderCreated || OrderPaid' },
        maxReconsumeTimes: 2,
        offsetCommitInterval: 50,
        handler: (message) => {
          const kind = message.body.toString();
          attempts.set(message.msgId, [...(attempts.get(message.msgId) ?? []), message]);
          if (kind === 'poison') throw new Error('cannot parse order');
          if (kind === 'flaky' && message.reconsumeTimes === 0) throw new Error('inventory service timed out');
          handled.set(name, [...(handled.get(name) ?? []), message.msgId]);
        },
      });
    const workers = { A: makeWorker('worker-A'), B: makeWorker('worker-B') };
    await workers.A.start();
    await workers.B.start();
    await until(async () => {
      const members = await broker.admin.groupMembers(group);
      return members.length === 2 && members.every((m) => m.queues.filter((q) => q.topic === topic).length === 2);
    }, 'queue assignment');
    for (const member of await broker.admin.groupMembers(group)) {
      const name = member.clientId === workers.A.clientId ? 'worker-A' : 'worker-B';
      say(
        `   ${name} holds queues ${member.queues
          .filter((q) => q.topic === topic)
          .map((q) => q.queueId)
          .join(', ')}`,
      );
    }

    step(4, 'A producer sends 20 orders');
    const producer = broker.producer({ group: 'demo-shop' });
    const started = Date.now();
    const receipts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => producer.send({ topic, tag: 'OrderCreated', keys: [`order-${i}`], body: `order-${i}` })),
    );
    say(`   20 sends durable in ${Date.now() - started} ms (coalesced into group commits)`);
    await until(() => (handled.get('worker-A')?.length ?? 0) + (handled.get('worker-B')?.length ?? 0) >= 20, 'all orders handled');
    const all = [...(handled.get('worker-A') ?? []), ...(handled.get('worker-B') ?? [])];
    if (all.length !== 20 || new Set(all).size !== 20 || !receipts.every((r) => all.includes(r.msgId))) {
      throw new Error('demo: an order was lost or handled twice');
    }
    say(`   worker-A handled ${handled.get('worker-A')?.length ?? 0}, worker-B handled ${handled.get('worker-B')?.length ?? 0}; each order exactly once`);

    step(5, 'Retry on the decaying schedule');
    const flaky = await producer.send({ topic, tag: 'OrderPaid', body: 'flaky' });
    await until(() => (attempts.get(flaky.msgId)?.length ?? 0) >= 2, 'flaky retried');
    const [first, second] = attempts.get(flaky.msgId) ?? [];
    say(`   ${flaky.msgId}: attempt 1 failed (reconsumeTimes ${first.reconsumeTimes}),`);
    say(`   stored in %RETRY%${group}, redelivered ${second.storedAt.getTime() - first.storedAt.getTime()} ms later (level 3 of the compressed schedule)`);
    say(`   attempt 2 succeeded (reconsumeTimes ${second.reconsumeTimes}, same msgId)`);

    step(6, 'A poison message ends in the dead-letter queue');
    const poison = await producer.send({ topic, tag: 'OrderCreated', keys: ['order-poison'], body: 'poison' });
    await until(async () => (await broker.admin.listDlq(group)).some((m) => m.msgId === poison.msgId), 'poison in DLQ');
    const tries = attempts.get(poison.msgId) ?? [];
    say(`   ${poison.msgId} failed ${tries.length} times (reconsumeTimes ${tries.map((m) => m.reconsumeTimes).join(', ')})`);
    say(`   now in ${dlqTopicOf(group)}, where an operator can inspect and resend it`);

    step(7, 'Group progress');
    await until(async () => (await broker.admin.groupProgress(group)).every((q) => q.lag === 0), 'lag 0');
    const progress = await broker.admin.groupProgress(group);
    say(
      `   ${progress
        .filter((q) => q.topic === topic)
        .map((q) => `queue ${q.queueId}: offset ${q.consumerOffset}/${q.brokerOffset}`)
        .join('; ')}; lag 0`,
    );

    await workers.A.shutdown();
    await workers.B.shutdown();
    say('\nDone: every order handled once, one retry, one dead letter. Consumers left the group cleanly.');
  } finally {
    await broker.close();
    await postgres.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
