// Transactional (half) messages from the README; `libs/broker/test/examples.spec.ts` runs it.
import { Client } from 'pg';
import { Broker } from '@herald/broker';

async function main(): Promise<void> {
  const broker = await Broker.connect({ connectionString: process.env.BROKER_URL! });
  await broker.admin.createTopic('payments', { queues: 4 });
  // the service's own database (here the same server, another table)
  const db = new Client({ connectionString: process.env.BROKER_URL! });
  await db.connect();
  await db.query('CREATE TABLE IF NOT EXISTS payments (transaction_id text PRIMARY KEY, amount int NOT NULL)');

  const tx = broker.transactionProducer({
    group: 'payment-service',
    // asked about halves left unresolved past transactionTimeout: did the local transaction commit?
    checker: async (msg) => {
      const { rows } = await db.query('SELECT 1 FROM payments WHERE transaction_id = $1', [msg.transactionId]);
      return rows.length > 0 ? 'COMMIT' : 'ROLLBACK';
    },
    transactionTimeout: 6_000,
  });
  await tx.start(); // join the group's check-backs

  const half = await tx.sendHalf({ topic: 'payments', tag: 'PaymentCaptured', body: JSON.stringify({ amount: 42 }) });
  try {
    await db.query('BEGIN');
    await db.query('INSERT INTO payments (transaction_id, amount) VALUES ($1, $2)', [half.transactionId, 42]);
    await db.query('COMMIT');
  } catch (error) {
    await db.query('ROLLBACK');
    await tx.rollback(half.transactionId);
    throw error;
  }
  const receipt = await tx.commit(half.transactionId); // if this process dies first, check-back commits it
  console.log(`committed ${receipt.msgId} at offset ${receipt.queueOffset}`);

  const stats = await broker.admin.transactionStats();
  console.log(`pending halves: ${stats.find((s) => s.producerGroup === 'payment-service')?.pending}`);
  await tx.shutdown();
  await db.end();
  await broker.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
