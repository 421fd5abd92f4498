import { ConsoleLogger, Logger, LoggerService } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { HeraldRuntime } from '@herald/transaction';
import { PrivatePostgres } from '@herald/test-support/private-postgres';
import { waitFor } from '@herald/test-support/wait-for';
import { OrderRow, OrderService } from './fixtures/order-inventory';
import { ServiceSpec, startService, useServiceDatabases } from './nest-harness';

const DAY = 86_400_000;
// 'stray' is a second, empty broker database: a service instance pointed at the wrong broker
const env = useServiceDatabases('orderA', 'orderB', 'orderC', 'orderD', 'stray');

/** An order service; `withheld` makes it stop between the local commit and the broker commit (as if it died there). */
function orderApp(group: string, db: string, withheld: { on: boolean }): Promise<TestingModule> {
  return startService({
    name: group,
    dbUrl: env.urls[db],
    brokerUrl: env.urls.broker,
    entities: [OrderRow],
    providers: [OrderService],
    herald: {
      // long enough that this instance is closed before any check-back
      transactionTimeout: 3_000,
      maxChecks: 1,
      checkInterval: 100,
      onLocalCommit: () => {
        if (withheld.on) throw new Error('broker commit withheld by the test');
      },
    },
  });
}

/**
 * Another instance on the same service database with a tiny log retention: its retention pass
 * is what the test drives. `brokerUrl` may be a broker that does not hold this service's halves.
 */
function janitor(db: string, brokerUrl: string, retentionMs = 300): Promise<TestingModule> {
  const spec: ServiceSpec = {
    name: 'log-janitor',
    dbUrl: env.urls[db],
    brokerUrl,
    entities: [OrderRow],
    providers: [],
    herald: { transactionTimeout: 100, checkInterval: 100, maxChecks: 1, retention: retentionMs, inboxRetention: 7 * DAY, clockTolerance: 0 },
  };
  return startService(spec);
}

/** Until every log row of `db` is older than the janitor's retention (300 ms by default), then one retention pass. */
async function runRetention(app: TestingModule, db: string, retentionMs = 300): Promise<void> {
  await waitFor(
    async () =>
      (await env.query(db, "SELECT 1 FROM herald_local.transaction_log WHERE created_at >= now() - $1 * interval '1 millisecond'", [retentionMs + 100]))
        .length === 0,
    { timeoutMs: retentionMs + 30_000 },
  );
  await app.get(HeraldRuntime).cleanUp();
}

/** A committed order whose half stays pending at the broker, with no live member of `group` left. */
async function committedButUnsent(group: string, db: string): Promise<{ id: string; transactionId: string }> {
  const withheld = { on: false };
  const app = await orderApp(group, db, withheld);
  try {
    await app.get(OrderService).create(randomUUID(), 'resolved normally');
    withheld.on = true;
    const id = randomUUID();
    await expect(app.get(OrderService).create(id, 'stuck')).rejects.toThrow('withheld');
    const halves = await (await env.admin()).admin.listHalfMessages({ group });
    expect(halves).toHaveLength(1);
    return { id, transactionId: halves[0].transactionId };
  } finally {
    await app.close();
  }
}

async function logStates(db: string): Promise<Record<string, string>> {
  const rows = await env.query<{ transaction_id: string; state: string }>(db, 'SELECT transaction_id, state FROM herald_local.transaction_log');
  return Object.fromEntries(rows.map((row) => [row.transaction_id, row.state]));
}

describe('transaction-log retention never turns a commit into a rollback', () => {
  it('a committed transaction whose broker commit was lost is committed by a check-back that comes after retention ran', async () => {
    const { id, transactionId } = await committedButUnsent('orders-a', 'orderA');
    // no member of orders-a is alive: the half waits, while another instance's retention pass runs
    await runRetention(env.track(await janitor('orderA', env.urls.broker)), 'orderA');

    env.track(await orderApp('orders-a', 'orderA', { on: false }));
    const admin = (await env.admin()).admin;
    await waitFor(async () => (await admin.listHalfMessages({ group: 'orders-a' })).length === 0, { timeoutMs: 15_000 });
    expect(await admin.queryMessagesByKey('orders', id)).toHaveLength(1);
    expect((await logStates('orderA'))[transactionId]).toBe('COMMITTED');
  });

  it('the retention pass deletes log rows of resolved halves and keeps those whose half is still pending', async () => {
    const { transactionId } = await committedButUnsent('orders-b', 'orderB');
    expect(Object.keys(await logStates('orderB'))).toHaveLength(2);
    await runRetention(env.track(await janitor('orderB', env.urls.broker)), 'orderB');
    expect(await logStates('orderB')).toEqual({ [transactionId]: 'COMMITTED' });
  });

  it('while the broker is unreachable, the retention pass deletes nothing', async () => {
    const server = await PrivatePostgres.start();
    try {
      await committedButUnsent('orders-d', 'orderD');
      // a retention long enough that the janitor's first pass (at start, while this empty broker
      // is still up) finds nothing old: only the pass after the stop may see expired rows
      const app = env.track(await janitor('orderD', server.url, 5_000));
      await server.stop();
      await runRetention(app, 'orderD', 5_000);
      expect(Object.keys(await logStates('orderD'))).toHaveLength(2);
    } finally {
      await server.stop();
    }
  });

  it('a half older than the log horizon with no log row is answered UNKNOWN and parked, never rolled back', async () => {
    const { id, transactionId } = await committedButUnsent('orders-c', 'orderC');
    // an instance pointed at a broker that never saw the half: its retention pass deletes the row
    await runRetention(env.track(await janitor('orderC', env.urls.stray)), 'orderC');
    expect(await logStates('orderC')).toEqual({});

    const lines: string[] = [];
    const capture: LoggerService = { log: () => undefined, warn: (m: unknown) => lines.push(String(m)), error: (m: unknown) => lines.push(String(m)) };
    env.track(await orderApp('orders-c', 'orderC', { on: false }));
    // after the testing module compiled: each compile installs Nest's TestingLogger
    Logger.overrideLogger(capture);
    try {
      const admin = (await env.admin()).admin;
      const parked = await waitFor(
        async () => (await admin.listHalfMessages({ group: 'orders-c', state: 'parked' })).find((h) => h.transactionId === transactionId),
        {
          timeoutMs: 15_000,
          what: 'the half parked',
        },
      );
      expect(parked.transactionId).toBe(transactionId);
      expect(await admin.queryMessagesByKey('orders', id)).toEqual([]);
      expect(await env.query('orderC', 'SELECT id FROM orders WHERE id = $1', [id])).toEqual([{ id }]);
      expect(await logStates('orderC')).toEqual({});
      expect(lines.some((line) => line.includes('older than the transaction-log horizon') && line.includes(`transactionId=${transactionId}`))).toBe(true);

      // the operator, who knows the order committed, commits it by hand
      await admin.resolveHalf(transactionId, 'COMMIT');
      expect(await admin.queryMessagesByKey('orders', id)).toHaveLength(1);
    } finally {
      Logger.overrideLogger(new ConsoleLogger());
    }
  });
});
