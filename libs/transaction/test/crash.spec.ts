import { randomUUID } from 'node:crypto';
import { ChildScript } from '@herald/test-support/child-process';
import { waitFor } from '@herald/test-support/wait-for';
import { InventoryHandlers, OrderRow, OrderService, ReservationRow } from './fixtures/order-inventory';
import { startService, useServiceDatabases } from './nest-harness';

const env = useServiceDatabases('order', 'inventory');
const children: ChildScript[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
});

describe('crash between the local commit and the broker commit', () => {
  it('another instance of the producer group commits through check-back; the receiver applies it once', async () => {
    env.track(
      await startService({
        name: 'inventory-service',
        dbUrl: env.urls.inventory,
        brokerUrl: env.urls.broker,
        entities: [ReservationRow],
        providers: [InventoryHandlers],
      }),
    );
    const id = randomUUID();
    const child = ChildScript.start('libs/transaction/test/fixtures/order-app.child.ts', {
      ORDER_DB: env.urls.order,
      BROKER_URL: env.urls.broker,
      ORDER_ID: id,
    });
    children.push(child);
    const line = await child.waitForLine(/^LOCAL_COMMITTED /, 40_000);
    const transactionId = line.split(' ')[1];
    child.process.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');

    // committed locally, unresolved at the broker
    expect(await env.query('order', 'SELECT id FROM orders WHERE id = $1', [id])).toHaveLength(1);
    const admin = (await env.admin()).admin;
    expect((await admin.listHalfMessages({ group: 'order-service' })).map((h) => h.transactionId)).toEqual([transactionId]);
    expect(await env.query('inventory', 'SELECT 1 FROM reservations WHERE "orderId" = $1', [id])).toEqual([]);

    // a new instance of the order service answers the check-back from the transaction log
    env.track(
      await startService({ name: 'order-service', dbUrl: env.urls.order, brokerUrl: env.urls.broker, entities: [OrderRow], providers: [OrderService] }),
    );
    const reservation = async (): Promise<{ applied: number; msgId: string }[]> =>
      env.query('inventory', 'SELECT applied, "msgId" FROM reservations WHERE "orderId" = $1', [id]);
    await waitFor(async () => (await reservation()).length > 0, { timeoutMs: 30_000, what: 'order applied' });
    // "once" only holds when nothing is left to deliver: a second copy would still be in the lag
    await env.drained('inventory');
    expect(await admin.listHalfMessages({ group: 'order-service' })).toEqual([]);
    const messages = await admin.queryMessagesByKey('orders', id);
    expect(messages).toHaveLength(1);
    expect(await reservation()).toEqual([{ applied: 1, msgId: messages[0].msgId }]);
  });
});
