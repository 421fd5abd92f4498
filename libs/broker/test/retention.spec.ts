import { Client } from 'pg';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, queryStore, uniqueName, useBrokers } from './helpers';
import { backgroundJobs } from '@herald/broker/internal';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

/**
 * Until the store's clock is more than `retentionMs` past `newest` (SQL for the newest stored
 * time concerned, parameters from $2): what a retention pass compares. One millisecond more,
 * as the pass's cutoff travels as a Date, truncated to the millisecond.
 */
function pastRetention(retentionMs: number, newest: string, params: unknown[], what: string): Promise<unknown> {
  const sql = `SELECT now() - ($1 + 1) * interval '1 millisecond' > (${newest}) AS past`;
  return waitFor(async () => (await queryStore<{ past: boolean }>(db, sql, [retentionMs, ...params]))[0].past, { what });
}

const NEWEST_MESSAGE = 'SELECT max(stored_at) FROM herald.messages WHERE topic = $2';

describe('retention', () => {
  it('deletes expired messages as a queue prefix while a producer keeps sending, without holding up any send', async () => {
    const broker = await openBroker({ retention: 300, runRetention: false });
    const topic = uniqueName('expiring');
    await broker.admin.createTopic(topic, { queues: 2 });
    const producer = broker.producer({ group: 'p' });
    // a batch goes to one queue, the next batch to the next: 200 per queue
    for (const half of [0, 200]) await producer.sendBatch(Array.from({ length: 200 }, (_, i) => ({ topic, body: `old-${half + i}` })));
    await pastRetention(300, NEWEST_MESSAGE, [topic], 'old messages past the retention');

    // A producer keeps sending throughout.
    let sending = true;
    let sentDuring = 0;
    const stream = (async () => {
      while (sending) {
        await producer.send({ topic, body: 'young' });
        sentDuring += 1;
      }
    })();

    // Hold a retention pass's transaction open: sends must not wait on its locks.
    const deleter = new Client({ connectionString: db.url });
    await deleter.connect();
    try {
      await deleter.query('BEGIN');
      const { rows } = await deleter.query("SELECT herald.delete_expired_messages(now() - interval '300 milliseconds', 1000) AS n");
      expect(Number(rows[0].n)).toBe(400);
      const before = sentDuring;
      await waitFor(() => sentDuring >= before + 50, { timeoutMs: 5_000, what: 'sends complete while the deleter holds its locks' });
      await deleter.query('COMMIT');
    } finally {
      await deleter.end();
    }
    sending = false;
    await stream;

    const queues = (await broker.admin.listTopics()).find((t) => t.name === topic)!.queues;
    expect(queues.map((q) => q.minOffset)).toEqual([200, 200]);
    expect(queues.reduce((n, q) => n + q.maxOffset - q.minOffset, 0)).toBe(sentDuring);

    // a FIRST_OFFSET group starts at the new min offset (the second test covers the broker's own pass)
    const bodies: string[] = [];
    const consumer = broker.pushConsumer({
      group: uniqueName('late'),
      subscriptions: { [topic]: '*' },
      consumeFromWhere: 'FIRST_OFFSET',
      handler: (m) => void bodies.push(m.body.toString()),
    });
    await consumer.start();
    await waitFor(() => bodies.length === sentDuring, { what: 'the young messages consumed' });
    expect(bodies.every((b) => b === 'young')).toBe(true);
  });

  it('runOnce deletes in batches until only young messages remain', async () => {
    const broker = await openBroker({ retention: 200, runRetention: false });
    const topic = uniqueName('batches');
    await broker.admin.createTopic(topic, { queues: 1 });
    const producer = broker.producer({ group: 'p' });
    for (let i = 0; i < 3; i += 1) await producer.sendBatch(Array.from({ length: 1_000 }, () => ({ topic, body: 'x' })));
    await pastRetention(200, NEWEST_MESSAGE, [topic], 'the batches past the retention');
    await producer.send({ topic, body: 'keep' });
    // other tests' messages in this database may expire too
    expect(await backgroundJobs(broker).retention.runOnce()).toBeGreaterThanOrEqual(3_000);
    expect((await broker.admin.listTopics()).find((x) => x.name === topic)!.queues[0]).toEqual({ queueId: 0, minOffset: 3_000, maxOffset: 3_001 });
    await expect(openBroker({ retention: 0 })).rejects.toMatchObject({ field: 'retention' });
  });

  it('also forgets old transaction outcomes, so the idempotence record does not grow forever', async () => {
    const broker = await openBroker({ retention: 200, runRetention: false });
    const topic = uniqueName('tx-retention');
    await broker.admin.createTopic(topic, { queues: 1 });
    const tx = broker.transactionProducer({ group: uniqueName('forgetful'), checker: () => 'UNKNOWN' });
    const half = await tx.sendHalf({ topic, body: 'x' });
    await tx.commit(half.transactionId);
    await tx.commit(half.transactionId); // still remembered: idempotent
    await pastRetention(
      200,
      'SELECT resolved_at FROM herald.resolved_transactions WHERE transaction_id = $2',
      [half.transactionId],
      'the outcome past the retention',
    );
    await backgroundJobs(broker).retention.runOnce();
    await expect(tx.commit(half.transactionId)).rejects.toMatchObject({ code: 'TRANSACTION_NOT_FOUND' });
  });

  it('deletes audit-log entries past auditRetention, and keeps younger ones', async () => {
    const broker = await openBroker({ auditRetention: 60_000, runRetention: false });
    const old = uniqueName('audited-old');
    await broker.admin.createTopic(old, { queues: 1 });
    // an entry from two minutes ago, past the minute of retention (however slow this machine is)
    await queryStore(db, "UPDATE herald.audit_log SET at = now() - interval '2 minutes' WHERE target = $1", [old]);
    const young = uniqueName('audited-young');
    await broker.admin.createTopic(young, { queues: 1 });
    await backgroundJobs(broker).retention.runOnce();
    const targets = (await broker.admin.listAudit({ limit: 1_000 })).map((e) => e.target);
    expect(targets).toContain(young);
    expect(targets).not.toContain(old);
    await expect(openBroker({ auditRetention: 0 })).rejects.toMatchObject({ field: 'auditRetention' });
  });
});
