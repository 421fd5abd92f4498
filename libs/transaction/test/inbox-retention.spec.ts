import { ConsoleLogger, Injectable, Logger, LoggerService } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { Broker } from '@herald/broker';
import { HeraldRuntime, MessageListener } from '@herald/transaction';
import type { MessageContext } from '@herald/transaction';
import { waitFor } from '@herald/test-support/wait-for';
import { OrderRow, OrderService, ReservationRow } from './fixtures/order-inventory';
import type { OrderCreated } from './fixtures/order-inventory';
import { ServiceSpec, startService, useServiceDatabases } from './nest-harness';
import { backgroundJobs } from '@herald/broker/internal';

// 'stray' is a second, empty broker database: a service instance pointed at the wrong broker
const env = useServiceDatabases('order', 'inventoryA', 'inventoryB', 'stray');

/** Counts applications per order, like the fixture's InventoryHandlers, in two groups of their own. */
abstract class CountingHandler {
  constructor(private readonly reservations: Repository<ReservationRow>) {}

  protected async apply(event: OrderCreated, ctx: MessageContext): Promise<void> {
    const existing = await this.reservations.findOneBy({ orderId: event.id });
    if (existing) await this.reservations.update({ orderId: event.id }, { applied: existing.applied + 1 });
    else await this.reservations.insert({ orderId: event.id, msgId: ctx.msgId, applied: 1 });
  }
}

@Injectable()
class InventoryA extends CountingHandler {
  constructor(@InjectRepository(ReservationRow) reservations: Repository<ReservationRow>) {
    super(reservations);
  }

  @MessageListener({ topic: 'orders', group: 'inventory-a', maxReconsumeTimes: 2 })
  async reserve(event: OrderCreated, ctx: MessageContext): Promise<void> {
    await this.apply(event, ctx);
  }
}

@Injectable()
class InventoryB extends CountingHandler {
  constructor(@InjectRepository(ReservationRow) reservations: Repository<ReservationRow>) {
    super(reservations);
  }

  @MessageListener({ topic: 'orders', group: 'inventory-b', maxReconsumeTimes: 2 })
  async reserve(event: OrderCreated, ctx: MessageContext): Promise<void> {
    await this.apply(event, ctx);
  }
}

/**
 * Inbox rows kept 1 s. The broker retention given here (1 ms, never run by this process; the
 * order service's broker keeps messages 72 h) only lets the startup check accept so short an inbox.
 */
const SHORT_INBOX: ServiceSpec['herald'] = {
  transactionTimeout: 100,
  checkInterval: 1,
  maxChecks: 1,
  retention: 1_000,
  clockTolerance: 0,
  maxReconsumeTimes: 2,
  broker: { retention: 1, retentionCheckInterval: 10, runRetention: false },
};

async function inventory(db: string, providers: ServiceSpec['providers'], brokerUrl = env.urls.broker): Promise<TestingModule> {
  return env.track(await startService({ name: `${db}-service`, dbUrl: env.urls[db], brokerUrl, entities: [ReservationRow], providers, herald: SHORT_INBOX }));
}

async function orderService(): Promise<OrderService> {
  return env
    .track(await startService({ name: 'order-service', dbUrl: env.urls.order, brokerUrl: env.urls.broker, entities: [OrderRow], providers: [OrderService] }))
    .get(OrderService);
}

async function applied(db: string, id: string): Promise<number> {
  const rows = await env.query<{ applied: number }>(db, 'SELECT applied FROM reservations WHERE "orderId" = $1', [id]);
  return rows[0]?.applied ?? 0;
}

/** Until every inbox row of `db` is older than the 1 s inbox retention, then one retention pass. */
async function runRetention(app: TestingModule, db: string): Promise<void> {
  await waitFor(async () => (await env.query(db, "SELECT 1 FROM herald_local.inbox WHERE applied_at >= now() - interval '1100 milliseconds'")).length === 0, {
    timeoutMs: 15_000,
  });
  await app.get(HeraldRuntime).cleanUp();
}

/** Stops the group's only instance, rewinds it to the first stored message, and starts it again. */
async function rewind(app: TestingModule, db: string, group: string, providers: ServiceSpec['providers']): Promise<TestingModule> {
  await env.close(app);
  await (await env.admin()).admin.resetOffset(group, 'orders', 0);
  const restarted = await inventory(db, providers);
  await env.drained(group);
  return restarted;
}

describe('inbox retention and redeliveries', () => {
  it('keeps the inbox rows of messages the broker still holds, so a rewind past the inbox retention applies nothing twice', async () => {
    const orders = await orderService();
    const app = await inventory('inventoryA', [InventoryA]);
    const id = randomUUID();
    await orders.create(id, 'lamp');
    await waitFor(async () => (await applied('inventoryA', id)) === 1);
    await env.drained('inventory-a');
    await runRetention(app, 'inventoryA');

    const restarted = await rewind(app, 'inventoryA', 'inventory-a', [InventoryA]);
    expect(await applied('inventoryA', id)).toBe(1);

    // once the broker no longer holds the message, its inbox row goes too
    const expiring = await Broker.connect({ connectionString: env.urls.broker, retention: 1, runScheduler: false, runRetention: false });
    try {
      await backgroundJobs(expiring).retention.runOnce();
    } finally {
      await expiring.close();
    }
    const [{ msgId }] = await env.query<{ msgId: string }>('inventoryA', 'SELECT "msgId" FROM reservations WHERE "orderId" = $1', [id]);
    await restarted.get(HeraldRuntime).cleanUp();
    expect(await env.query('inventoryA', 'SELECT 1 FROM herald_local.inbox WHERE msg_id = $1', [msgId])).toEqual([]);
  });

  it('a redelivery past the inbox horizon is refused and reported, not applied twice; released by an operator, it is applied', async () => {
    const orders = await orderService();
    let app = await inventory('inventoryB', [InventoryB]);
    const id = randomUUID();
    await orders.create(id, 'desk');
    await waitFor(async () => (await applied('inventoryB', id)) === 1);
    await env.drained('inventory-b');
    const [{ msgId }] = await env.query<{ msgId: string }>('inventoryB', 'SELECT "msgId" FROM reservations WHERE "orderId" = $1', [id]);

    // an instance pointed at a broker that never held the message: its retention pass deletes the inbox row
    await runRetention(await inventory('inventoryB', [], env.urls.stray), 'inventoryB');
    expect(await env.query('inventoryB', 'SELECT 1 FROM herald_local.inbox WHERE msg_id = $1', [msgId])).toEqual([]);

    const lines: string[] = [];
    const capture: LoggerService = { log: () => undefined, warn: (m: unknown) => lines.push(String(m)), error: (m: unknown) => lines.push(String(m)) };
    await env.close(app);
    await (await env.admin()).admin.resetOffset('inventory-b', 'orders', 0);
    app = await inventory('inventoryB', [InventoryB]);
    // after the testing module compiled: each compile installs Nest's TestingLogger
    Logger.overrideLogger(capture);
    try {
      await env.drained('inventory-b');
      expect(await applied('inventoryB', id)).toBe(1);
      expect(await env.query('inventoryB', 'SELECT state FROM herald_local.inbox WHERE consumer_group = $1 AND msg_id = $2', ['inventory-b', msgId])).toEqual([
        { state: 'REFUSED' },
      ]);
      const refusal = lines.find((line) => line.includes(`msgId=${msgId}`) && line.includes('past the inbox horizon'));
      expect(refusal).toMatch(/group=inventory-b topic=orders/);

      // released by an operator (who found the effect missing), the next delivery applies it
      await env.query('inventoryB', "UPDATE herald_local.inbox SET state = 'RELEASED' WHERE consumer_group = $1 AND msg_id = $2", ['inventory-b', msgId]);
      await rewind(app, 'inventoryB', 'inventory-b', [InventoryB]);
      expect(await applied('inventoryB', id)).toBe(2);
      expect(await env.query('inventoryB', 'SELECT state FROM herald_local.inbox WHERE consumer_group = $1 AND msg_id = $2', ['inventory-b', msgId])).toEqual([
        { state: 'APPLIED' },
      ]);
    } finally {
      Logger.overrideLogger(new ConsoleLogger());
    }
  });
});
