/**
 * `npm run bench:console`: how long each console page takes on the server with a big broker
 * (issue 15, point 11): 1 000 000 messages, 50 consumer groups with lag, 10 000 dead letters,
 * parked halves. Embedded PostgreSQL (or DATABASE_URL).
 *
 *   npm run bench:console                         the full sizes
 *   npm run bench:console -- --quick              10 000 messages, 5 groups, 200 dead letters
 *   npm run bench:console -- --messages 200000 --groups 20 --dead 2000 --reps 9
 */
import { parseArgs } from 'node:util';
import { Broker, ConsoleLogger, startConsoleServer } from '@herald/broker';
import { databaseUrl, openDevPostgres, recreateDatabase } from '@herald/testing';
import { formatNumber, summarize } from './stats';

const TARGET_MS = 500;

function sizes(): { messages: number; groups: number; dead: number; reps: number } {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      messages: { type: 'string' },
      groups: { type: 'string' },
      dead: { type: 'string' },
      reps: { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const int = (value: string | undefined, fallback: number, name: string): number => {
    const n = value === undefined ? fallback : Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
    return n;
  };
  return {
    messages: int(values.messages, quick ? 10_000 : 1_000_000, 'messages'),
    groups: int(values.groups, quick ? 5 : 50, 'groups'),
    dead: int(values.dead, quick ? 200 : 10_000, 'dead'),
    reps: int(values.reps, quick ? 2 : 5, 'reps'),
  };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function fill(broker: Broker, n: ReturnType<typeof sizes>): Promise<{ sampleMsgId: string; deadGroup: string }> {
  const topic = 'orders';
  await broker.admin.createTopic(topic, { queues: 8 });
  const producer = broker.producer({ group: 'bench-console' });
  const started = performance.now();
  let sampleMsgId = '';
  for (let sent = 0; sent < n.messages; sent += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, n.messages - sent) }, (_, i) => ({
      topic,
      body: JSON.stringify({ orderId: `o-${sent + i}`, items: [{ sku: 'apple', qty: 1 }] }),
      keys: [`o-${sent + i}`],
      tag: 'OrderCreated',
    }));
    const [receipt] = await Promise.all([producer.sendBatch(batch.slice(0, 500)), producer.sendBatch(batch.slice(500))]);
    sampleMsgId ||= receipt[0]?.msgId ?? '';
    if ((sent / 1_000) % 100 === 0) process.stdout.write(`  filled ${formatNumber(sent)} / ${formatNumber(n.messages)}\r`);
  }
  console.log(`  ${formatNumber(n.messages)} messages in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  // groups positioned at the end, then moved back to random offsets: lag everywhere
  for (let g = 0; g < n.groups; g += 1) {
    const group = `bench-group-${g}`;
    const consumer = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler: () => undefined });
    await consumer.start();
    await consumer.shutdown();
    const perQueue = Math.floor(n.messages / 8);
    const offsets = Object.fromEntries(Array.from({ length: 8 }, (_, q) => [q, Math.floor(Math.random() * perQueue)]));
    await broker.admin.resetOffset(group, topic, { offsets });
  }
  console.log(`  ${n.groups} groups with lag`);

  const deadTopic = 'payments';
  const deadGroup = 'bench-dead';
  await broker.admin.createTopic(deadTopic, { queues: 4 });
  const failing = broker.pushConsumer({
    group: deadGroup,
    subscriptions: { [deadTopic]: '*' },
    consumeFromWhere: 'FIRST_OFFSET',
    maxReconsumeTimes: 0,
    handler: () => Promise.reject(new TypeError('payment provider down')),
  });
  for (let sent = 0; sent < n.dead; sent += 1_000) {
    await producer.sendBatch(Array.from({ length: Math.min(1_000, n.dead - sent) }, (_, i) => ({ topic: deadTopic, body: `payment-${sent + i}` })));
  }
  await failing.start();
  await until(async () => (await broker.admin.listGroups()).find((g) => g.group === deadGroup)?.deadLetters === n.dead, 'the dead letters', 600_000);
  await failing.shutdown();
  console.log(`  ${formatNumber(n.dead)} dead letters`);

  const tx = broker.transactionProducer({ group: 'bench-tx', transactionTimeout: 50, checkInterval: 50, maxChecks: 1, checker: () => 'UNKNOWN' });
  await tx.start();
  for (let i = 0; i < 20; i += 1) await tx.sendHalf({ topic, body: `stuck-${i}` });
  await until(async () => (await broker.admin.listHalfMessages({ state: 'parked' })).length === 20, 'parked halves', 60_000);
  await tx.shutdown();
  return { sampleMsgId, deadGroup };
}

async function main(): Promise<void> {
  const n = sizes();
  console.log(`Console pages: ${formatNumber(n.messages)} messages, ${n.groups} groups, ${formatNumber(n.dead)} dead letters, ${n.reps} repetitions`);
  const postgres = await openDevPostgres();
  const database = 'bench_console';
  await recreateDatabase(postgres.url, database);
  const broker = await Broker.connect({
    connectionString: databaseUrl(postgres.url, database),
    poolSize: 10,
    runRetention: false,
    logger: new ConsoleLogger('error'),
  });
  try {
    const { sampleMsgId, deadGroup } = await fill(broker, n);
    const server = await startConsoleServer({ broker, port: 0 });
    const pages: [string, string][] = [
      ['overview', ''],
      ['topics', 'topics'],
      ['groups', 'groups'],
      ['one group', 'group?name=bench-group-0'],
      ['dead letters (500 shown)', `dlq?group=${deadGroup}`],
      ['transactions', 'transactions'],
      ['search by key', 'messages?topic=orders&key=o-4242'],
      ['search by time (last hour, a page)', 'messages?topic=orders'],
      ['message detail', `message?id=${sampleMsgId}`],
      ['audit log', 'audit'],
    ];
    const rows: string[] = [];
    let missed = 0;
    for (const [label, path] of pages) {
      const times: number[] = [];
      for (let rep = 0; rep < n.reps; rep += 1) {
        const started = performance.now();
        const response = await fetch(`${server.url}${path}`);
        await response.text();
        if (response.status !== 200) throw new Error(`${label}: HTTP ${response.status}`);
        times.push(performance.now() - started);
      }
      const summary = summarize(times);
      if (summary.max > TARGET_MS) missed += 1;
      rows.push(
        `${label.padEnd(36)} ${formatNumber(summary.median).padStart(8)} ms  (${formatNumber(summary.min)}–${formatNumber(summary.max)})${summary.max > TARGET_MS ? '  over the target' : ''}`,
      );
    }
    await server.close();
    console.log(`\npage (server time over loopback, median of ${n.reps})      median   (min–max)`);
    for (const row of rows) console.log(row);
    console.log(missed === 0 ? `\nevery page under ${TARGET_MS} ms` : `\n${missed} page(s) over ${TARGET_MS} ms`);
  } finally {
    await broker.close();
    await postgres.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
