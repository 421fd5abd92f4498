/**
 * `npm run bench`: rough throughput of the broker core on this machine (embedded
 * PostgreSQL with fsync and synchronous_commit on, or DATABASE_URL). The full
 * comparison with pg-boss and graphile-worker comes with the benchmark suite.
 *
 *   single sends, 32 callers in parallel   (group commit)
 *   batch sends, 1 000 messages per call
 *   drain: one consumer handles N stored messages
 */
import { Broker, ConsoleLogger } from '@herald/broker';
import { openDevPostgres } from '@herald/embedded-pg';

const N = Number(process.env.BENCH_N ?? 20_000);

function rate(count: number, ms: number): string {
  return `${Math.round((count / ms) * 1000).toLocaleString('en-US')} msg/s`;
}

async function main(): Promise<void> {
  const postgres = await openDevPostgres();
  const broker = await Broker.connect({ connectionString: postgres.url, logger: new ConsoleLogger('error') });
  try {
    const body = JSON.stringify({ orderId: 'o-000000', amount: 100, currency: 'EUR' });
    const producer = broker.producer({ group: 'bench' });
    const results: string[] = [];

    await broker.admin.createTopic('bench-single', { queues: 8 });
    let next = 0;
    let t0 = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < N) {
          next += 1;
          await producer.send({ topic: 'bench-single', body });
        }
      }),
    );
    results.push(`send one by one, 32 concurrent, ${N}: ${rate(N, performance.now() - t0)}`);
    process.stdout.write(`${results.at(-1)}\n`);

    await broker.admin.createTopic('bench-batch', { queues: 8 });
    t0 = performance.now();
    for (let sent = 0; sent < N; sent += 1_000) {
      await producer.sendBatch(Array.from({ length: Math.min(1_000, N - sent) }, () => ({ topic: 'bench-batch', body })));
    }
    results.push(`sendBatch of 1 000, ${N}: ${rate(N, performance.now() - t0)}`);
    process.stdout.write(`${results.at(-1)}\n`);

    let handled = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const consumer = broker.pushConsumer({
      group: 'bench-drain',
      subscriptions: { 'bench-batch': '*' },
      consumeFromWhere: 'FIRST_OFFSET',
      concurrency: 32,
      pullBatchSize: 256,
      handler: () => {
        handled += 1;
        if (handled === N) done();
      },
    });
    t0 = performance.now();
    await consumer.start();
    await finished;
    results.push(`drain ${N} with one consumer: ${rate(N, performance.now() - t0)}`);
    process.stdout.write(`${results.at(-1)}\n`);
    await consumer.shutdown();
  } finally {
    await broker.close();
    await postgres.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
