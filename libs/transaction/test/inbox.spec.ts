import { ConsoleLogger, Injectable, Logger, LoggerService } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { Repository } from 'typeorm';
import { MessageListener } from '@herald/transaction';
import type { MessageContext } from '@herald/transaction';
import { waitFor } from '@herald/test-support/wait-for';
import { InventoryHandlers, OrderRow, OrderService, ReservationRow } from './fixtures/order-inventory';
import { startService, useServiceDatabases } from './nest-harness';

const env = useServiceDatabases('order', 'inventory');

/** Writes, then fails every time: nothing of it may stay. */
@Injectable()
class AlwaysFailing {
  static readonly deliveries: { id: string; reconsumeTimes: number }[] = [];
  constructor(@InjectRepository(ReservationRow) private readonly reservations: Repository<ReservationRow>) {}

  @MessageListener({ topic: 'orders', tag: 'OrderCreated', group: 'failing-inventory', maxReconsumeTimes: 2 })
  async reserve(event: { id: string }, ctx: MessageContext): Promise<void> {
    AlwaysFailing.deliveries.push({ id: event.id, reconsumeTimes: ctx.reconsumeTimes });
    await this.reservations.insert({ orderId: event.id, msgId: ctx.msgId });
    throw new Error('stock service unavailable');
  }
}

async function orderService(): Promise<OrderService> {
  const app = env.track(
    await startService({ name: 'order-service', dbUrl: env.urls.order, brokerUrl: env.urls.broker, entities: [OrderRow], providers: [OrderService] }),
  );
  return app.get(OrderService);
}

describe('@MessageListener inbox', () => {
  it('a forced redelivery of the same message changes the receiver once', async () => {
    const orders = await orderService();
    const inventory = env.track(
      await startService({
        name: 'inventory-service',
        dbUrl: env.urls.inventory,
        brokerUrl: env.urls.broker,
        entities: [ReservationRow],
        providers: [InventoryHandlers],
      }),
    );
    const id = randomUUID();
    await orders.create(id, 'lamp');
    await waitFor(async () => (await env.query('inventory', 'SELECT 1 FROM reservations WHERE "orderId" = $1', [id])).length === 1);
    const admin = (await env.admin()).admin;
    await env.drained('inventory');
    await inventory.close();

    // rewind the group: every message of the topic is delivered again
    await admin.resetOffset('inventory', 'orders', 0);
    const rewound = await admin.groupProgress('inventory');
    expect(rewound.some((q) => typeof q.lag === 'number' && q.lag > 0)).toBe(true);
    const registry = new Registry();
    env.track(
      await startService({
        name: 'inventory-service',
        dbUrl: env.urls.inventory,
        brokerUrl: env.urls.broker,
        entities: [ReservationRow],
        providers: [InventoryHandlers],
        herald: { broker: { metrics: { registry, brokerState: false } } },
      }),
    );
    await env.drained('inventory');
    expect(await env.query('inventory', 'SELECT applied FROM reservations WHERE "orderId" = $1', [id])).toEqual([{ applied: 1 }]);
    // the skipped redelivery shows in the module's broker metrics
    expect(await registry.metrics()).toMatch(/^herald_inbox_duplicates_total\{consumer_group="inventory"\} [1-9]/m);
    expect(await env.query('inventory', "SELECT 1 FROM herald_local.inbox WHERE consumer_group = 'inventory'")).toHaveLength(1);
  });

  it('a failing handler leaves no partial writes, is retried with rising reconsumeTimes, and ends in the DLQ', async () => {
    const warnings: string[] = [];
    const capture: LoggerService = { log: () => undefined, error: (m: unknown) => warnings.push(String(m)), warn: (m: unknown) => warnings.push(String(m)) };
    const orders = await orderService();
    env.track(
      await startService({
        name: 'failing-service',
        dbUrl: env.urls.inventory,
        brokerUrl: env.urls.broker,
        entities: [ReservationRow],
        providers: [AlwaysFailing],
      }),
    );
    // after the testing modules compiled: each compile installs Nest's TestingLogger
    Logger.overrideLogger(capture);
    const id = randomUUID();
    const order = await orders.create(id, 'desk');
    const admin = (await env.admin()).admin;
    const [sent] = await admin.queryMessagesByKey('orders', order.id);
    const dlq = await waitFor(
      async () => {
        const dead = await admin.listDlq('failing-inventory');
        return dead.some((m) => m.msgId === sent.msgId) ? dead : null;
      },
      { timeoutMs: 20_000 },
    );
    expect(dlq.map((m) => m.msgId)).toContain(sent.msgId);
    expect(AlwaysFailing.deliveries.filter((d) => d.id === id).map((d) => d.reconsumeTimes)).toEqual([0, 1, 2]);
    expect(await env.query('inventory', 'SELECT 1 FROM reservations WHERE "orderId" = $1', [id])).toEqual([]);
    expect(await env.query('inventory', "SELECT 1 FROM herald_local.inbox WHERE consumer_group = 'failing-inventory'")).toEqual([]);
    Logger.overrideLogger(new ConsoleLogger());
    // structured: ids and names, never the body or a connection string
    const failures = warnings.filter((line) => line.startsWith('listener failed') && line.includes(sent.msgId));
    expect(failures.map((line) => /reconsumeTimes=(\d)/.exec(line)?.[1])).toEqual(['0', '1', '2']);
    for (const line of failures) {
      expect(line).toMatch(
        new RegExp(
          `^listener failed; rolled back, the broker will retry group=failing-inventory topic=orders msgId=${sent.msgId} reconsumeTimes=\\d handler=AlwaysFailing.reserve error="stock service unavailable"$`,
        ),
      );
      expect(line).not.toContain('desk');
      expect(line).not.toContain('postgres://');
    }
    // and the broker's own line when it dead-letters the message
    expect(warnings.some((line) => line.includes(sent.msgId) && /DLQ|dead/i.test(line))).toBe(true);
  });
});
