import { randomUUID } from 'node:crypto';
import { waitFor } from '@herald/test-support/wait-for';
import { InventoryHandlers, OrderRow, OrderService, ReservationRow } from './fixtures/order-inventory';
import { startService, useServiceDatabases } from './nest-harness';

const env = useServiceDatabases('order', 'inventory');

async function startBoth(): Promise<{ orders: OrderService }> {
  const orderApp = env.track(
    await startService({ name: 'order-service', dbUrl: env.urls.order, brokerUrl: env.urls.broker, entities: [OrderRow], providers: [OrderService] }),
  );
  env.track(
    await startService({
      name: 'inventory-service',
      dbUrl: env.urls.inventory,
      brokerUrl: env.urls.broker,
      entities: [ReservationRow],
      providers: [InventoryHandlers],
    }),
  );
  return { orders: orderApp.get(OrderService) };
}

describe('@TransactionalMessage → @MessageListener', () => {
  it('commits the writes and the message together; the receiver applies it once', async () => {
    const { orders } = await startBoth();
    const id = randomUUID();
    const order = await orders.create(id, 'book');
    expect(order).toMatchObject({ id, item: 'book' });
    // the local write is committed when the call returns
    expect(await env.query('order', 'SELECT id FROM orders WHERE id = $1', [id])).toHaveLength(1);
    const reservation = async (): Promise<{ applied: number; msgId: string }[]> =>
      env.query('inventory', 'SELECT applied, "msgId" FROM reservations WHERE "orderId" = $1', [id]);
    await waitFor(async () => (await reservation()).length > 0, { what: 'order applied' });
    const admin = await env.admin();
    // "once" only holds when nothing is left to deliver: a second copy would still be in the lag
    await env.drained('inventory');
    const messages = await admin.admin.queryMessagesByKey('orders', id);
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(await reservation()).toEqual([{ applied: 1, msgId: message.msgId }]);
    expect(message.tag).toBe('OrderCreated');
    expect(JSON.parse(message.body.toString())).toEqual({ id, item: 'book' });
    // the log row that check-back would read
    expect(await env.query('order', 'SELECT state, topic, msg_id FROM herald_local.transaction_log WHERE msg_id = $1', [message.msgId])).toEqual([
      { state: 'COMMITTED', topic: 'orders', msg_id: message.msgId },
    ]);
  });

  it('a throw leaves neither the writes nor the message, and the caller gets the original error', async () => {
    const { orders } = await startBoth();
    const id = randomUUID();
    const logRows = async (): Promise<number> => (await env.query('order', 'SELECT 1 FROM herald_local.transaction_log')).length;
    const before = await logRows();
    await expect(orders.create(id, 'book', true)).rejects.toThrow(`refused order ${id}`);
    expect(await env.query('order', 'SELECT id FROM orders WHERE id = $1', [id])).toHaveLength(0);
    const admin = await env.admin();
    // the half was rolled back at once: nothing pending, nothing stored under the key
    expect(await admin.admin.listHalfMessages({ group: 'order-service' })).toEqual([]);
    expect(await admin.admin.queryMessagesByKey('orders', id)).toEqual([]);
    expect(await logRows()).toBe(before);
  });
});
