import { join } from 'node:path';
import { Client, escapeIdentifier } from 'pg';
import { SchemaMigrationError } from '@herald/broker';
import { loadMigrations, migrate } from '@herald/broker/internal';
import { OrderRow, OrderService } from './fixtures/order-inventory';
import { startService, useServiceDatabases } from './nest-harness';

const env = useServiceDatabases('order');

/** The service schema as the first release left it: migration 001 only. */
async function migrateFirstReleaseOnly(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const connection = {
      query: async (sql: string, params?: unknown[]) => ({ rows: (await client.query(sql, params)).rows as unknown[] }),
      escapeIdentifier,
      release: () => undefined,
    };
    await migrate({ connect: async () => connection }, 'herald_local', { migrations: loadMigrations(join(__dirname, '../migrations')).slice(0, 1) });
  } finally {
    await client.end();
  }
}

describe('upgrading the service schema', () => {
  it('keeps existing log and inbox rows and sets each horizon to the earlier of its oldest row and `now - retention`', async () => {
    await migrateFirstReleaseOnly(env.urls.order);
    // rows an earlier release wrote: anything older than them may have been deleted by age
    await env.query(
      'order',
      "INSERT INTO herald_local.transaction_log (transaction_id, state, topic, created_at) VALUES ('old-tx', 'COMMITTED', 'orders', now() - interval '2 days')",
    );
    // the broker still holds this one's message, so retention keeps its row however old
    const broker = await env.admin();
    await broker.admin.createTopic('orders');
    const { msgId } = await broker.producer({ group: 'upgrade-test' }).send({ topic: 'orders', body: 'x' });
    await env.query(
      'order',
      "INSERT INTO herald_local.inbox (consumer_group, msg_id, topic, applied_at) VALUES ('g', $1, 'orders', now() - interval '10 days')",
      [msgId],
    );

    env.track(
      await startService({
        name: 'order-service',
        dbUrl: env.urls.order,
        brokerUrl: env.urls.broker,
        entities: [OrderRow],
        providers: [OrderService],
        herald: { retention: 4 * 86_400_000 },
      }),
    );
    expect(await env.query('order', 'SELECT state FROM herald_local.transaction_log')).toEqual([{ state: 'COMMITTED' }]);
    expect(await env.query('order', 'SELECT state FROM herald_local.inbox')).toEqual([{ state: 'APPLIED' }]);
    const [horizons] = await env.query<{ log_days: number; inbox_days: number }>(
      'order',
      `SELECT round(extract(epoch FROM now() - log_horizon) / 86400)::int AS log_days, round(extract(epoch FROM now() - inbox_horizon) / 86400)::int AS inbox_days
       FROM herald_local.retention_horizon`,
    );
    // deleted rows were older than both the retention (4 days) and every surviving row (log 2 days, inbox 10 days)
    expect(horizons).toEqual({ log_days: 4, inbox_days: 10 });
  });

  it('a failed migration of the service schema names that schema and the step, not the broker', async () => {
    // a table in the way of migration 001 (say, left by another tool under the same schema name)
    await env.query('order', 'CREATE SCHEMA herald_blocked; CREATE TABLE herald_blocked.inbox (x int)');
    const starting = startService({
      name: 'order-service',
      dbUrl: env.urls.order,
      brokerUrl: env.urls.broker,
      entities: [OrderRow],
      providers: [OrderService],
      herald: { schema: 'herald_blocked' },
    });
    await expect(starting).rejects.toBeInstanceOf(SchemaMigrationError);
    await expect(starting).rejects.toMatchObject({
      code: 'SCHEMA_MIGRATION_FAILED',
      schema: 'herald_blocked',
      step: '001_transaction_log_and_inbox',
      message: expect.stringMatching(/^Migrating schema "herald_blocked" failed at 001_transaction_log_and_inbox: relation "inbox" already exists/),
    });
  });
});
