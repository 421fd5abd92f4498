// Every broker feature in a few lines each; the README quotes these sections and
// `libs/broker/test/examples.spec.ts` runs the file against a real PostgreSQL.
import { Broker, MessageView } from '@herald/broker';

const waitUntil = async (condition: () => boolean | Promise<boolean>): Promise<void> => {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('example timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

async function main(): Promise<void> {
  const broker = await Broker.connect({
    connectionString: process.env.BROKER_URL!,
    // compressed delay levels for the example: level 1 is 100 ms, level 2 is 200 ms ...
    delayLevels: [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800],
  });
  await broker.admin.createTopic('orders', { queues: 4 });
  const producer = broker.producer({ group: 'order-service' });

  // --- delayed messages: invisible until due
  const later = await producer.send({ topic: 'orders', body: 'remind me', delayLevel: 2 });
  await producer.send({ topic: 'orders', body: 'at a time', deliverAt: Date.now() + 150 });
  console.log(`delayed: offset ${later.queueOffset} until ${later.deliverAt?.toISOString()}`);

  // --- SQL92 filter over message properties
  const big: string[] = [];
  const filtered = broker.pushConsumer({
    group: 'big-eu-orders',
    subscriptions: { orders: { sql: "region = 'eu' AND amount > 100" } },
    handler: (msg) => void big.push(msg.body.toString()),
  });
  await filtered.start();
  await producer.send({ topic: 'orders', body: 'small', properties: { region: 'eu', amount: '20' } });
  await producer.send({ topic: 'orders', body: 'big', properties: { region: 'eu', amount: '250' } });
  await waitUntil(() => big.length === 1);
  console.log(`sql filter: ${big.join(',')}`);

  // --- ordered consumption: per messageGroup, one message after the other
  const sequence: string[] = [];
  const ordered = broker.pushConsumer({
    group: 'order-timeline',
    subscriptions: { orders: 'Step' },
    orderly: true,
    handler: (msg) => void sequence.push(msg.body.toString()),
  });
  await ordered.start();
  for (const step of ['created', 'paid', 'shipped']) {
    await producer.send({ topic: 'orders', tag: 'Step', messageGroup: 'order-42', body: step });
  }
  await waitUntil(() => sequence.length === 3);
  console.log(`orderly: ${sequence.join(' -> ')}`);

  // --- broadcasting: every member gets every message, offsets per instanceName
  const seenBy: Record<string, number> = { a: 0, b: 0 };
  const members = ['a', 'b'].map((name) =>
    broker.pushConsumer({
      group: 'cache-invalidation',
      model: 'BROADCASTING',
      instanceName: `node-${name}`,
      subscriptions: { orders: 'Invalidate' },
      handler: () => void (seenBy[name] += 1),
    }),
  );
  for (const member of members) await member.start();
  await producer.send({ topic: 'orders', tag: 'Invalidate', body: 'prices' });
  await waitUntil(() => seenBy.a === 1 && seenBy.b === 1);
  console.log(`broadcasting: a=${seenBy.a} b=${seenBy.b}`);

  // --- pull model: receive, ack; unacked messages reappear after invisibleDuration
  const audit = broker.simpleConsumer({ group: 'audit', subscriptions: { orders: 'Audit' } });
  await producer.send({ topic: 'orders', tag: 'Audit', keys: ['order-7'], body: 'audit me' });
  const received = await audit.receive({ maxMessages: 8, invisibleDuration: 30_000, awaitDuration: 5_000 });
  for (const msg of received) await audit.ack(msg);
  console.log(`simple consumer: received ${received.length}, acked`);

  // --- queries, DLQ resend, offset reset
  const byKey = await broker.admin.queryMessagesByKey('orders', 'order-7');
  console.log(`query by key: ${byKey.length} message(s)`);
  const poisoned: MessageView[] = [];
  let fixed = false;
  const picky = broker.pushConsumer({
    group: 'picky',
    subscriptions: { orders: 'Poison' },
    maxReconsumeTimes: 0,
    handler: (msg) => {
      poisoned.push(msg);
      if (!fixed) throw new Error('cannot handle yet');
    },
  });
  await picky.start();
  await producer.send({ topic: 'orders', tag: 'Poison', body: 'poison' });
  await waitUntil(async () => (await broker.admin.listDlq('picky')).length === 1);
  fixed = true;
  const [dead] = await broker.admin.listDlq('picky');
  console.log(`dlq: ${dead.msgId} failed with ${dead.lastError?.type}: ${dead.lastError?.message}`);
  const report = await broker.admin.resendDlq('picky', 'all'); // or msgIds, or { from, to }
  await waitUntil(() => poisoned.length === 2);
  console.log(`dlq: resent ${report.resent}, handled after the fix`);
  const preview = await broker.admin.resetOffset('big-eu-orders', 'orders', Date.now() - 60_000, { dryRun: true });
  console.log(`reset offset preview: ${preview.queues.reduce((n, q) => n + q.replayed, 0)} message(s) to consume again`);
  const reset = await broker.admin.resetOffset('big-eu-orders', 'orders', Date.now() - 60_000);
  console.log(`reset offset: ${reset.queues.length} queues rewound`);

  await waitUntil(async () => {
    const result = await broker.admin.queryMessage(later.msgId);
    return result !== null && result.message.queueOffset >= 0;
  });
  console.log('delayed message delivered');
  await broker.close(); // shuts the consumers down too
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
