import { Injectable, Scope } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Transactional } from '@nestjs-cls/transactional';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { HeraldHealthIndicator, InvalidDecoratedMethodError, MessageListener } from '@herald/transaction';
import type { MessageContext } from '@herald/transaction';
import { PrivatePostgres } from '@herald/test-support/private-postgres';
import { waitFor } from '@herald/test-support/wait-for';
import { OrderRow, OrderService, ReservationRow } from './fixtures/order-inventory';
import { startService, useServiceDatabases } from './nest-harness';

const env = useServiceDatabases('order', 'inventory');

/** Holds each delivery until the test opens the gate. */
@Injectable()
class GatedHandler {
  static events: string[] = [];
  static open: () => void = () => undefined;
  static gate = new Promise<void>((resolve) => {
    GatedHandler.open = resolve;
  });
  constructor(@InjectRepository(ReservationRow) private readonly reservations: Repository<ReservationRow>) {}

  @MessageListener({ topic: 'orders', group: 'gated-inventory' })
  async reserve(event: { id: string }, ctx: MessageContext): Promise<void> {
    GatedHandler.events.push('started');
    await GatedHandler.gate;
    await this.reservations.insert({ orderId: event.id, msgId: ctx.msgId });
    GatedHandler.events.push('finished');
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedHandler {
  @MessageListener({ topic: 'orders', group: 'request-scoped' })
  async reserve(): Promise<void> {}
}

/** A user's own @Transactional() method calling a @TransactionalMessage one. */
@Injectable()
class Checkout {
  constructor(
    private readonly orders: OrderService,
    @InjectRepository(OrderRow) private readonly rows: Repository<OrderRow>,
  ) {}

  @Transactional()
  async checkout(id: string, failAtEnd: boolean): Promise<void> {
    await this.orders.create(id, 'joined');
    await this.rows.save(this.rows.create({ id: `${id}-gift`, item: 'gift wrap' }));
    if (failAtEnd) throw new Error('checkout failed after the order was created');
  }

  /** Swallows the decorated method's error and commits the rest. */
  @Transactional()
  async checkoutIgnoringRefusal(id: string): Promise<void> {
    await this.orders.create(id, 'refused', true).catch(() => undefined);
    await this.rows.save(this.rows.create({ id: `${id}-gift`, item: 'gift wrap' }));
  }
}

describe('lifecycle', () => {
  it('shutdown waits for an in-flight handler and commits its offset', async () => {
    const orders = env
      .track(await startService({ name: 'order-service', dbUrl: env.urls.order, brokerUrl: env.urls.broker, entities: [OrderRow], providers: [OrderService] }))
      .get(OrderService);
    // not tracked: the test closes it itself
    const inventory = await startService({
      name: 'inventory-service',
      dbUrl: env.urls.inventory,
      brokerUrl: env.urls.broker,
      entities: [ReservationRow],
      providers: [GatedHandler],
    });
    const id = randomUUID();
    await orders.create(id, 'chair');
    await waitFor(() => GatedHandler.events.includes('started'));
    const closed = inventory.close().then(() => GatedHandler.events.push('closed'));
    // Shutdown stops heartbeating at once and leaves the group only after the drain: a lapsed
    // lease on a member row still there means close() is under way and held by the handler.
    await waitFor(
      async () =>
        (await env.query('broker', "SELECT 1 FROM herald.group_members WHERE group_name = 'gated-inventory' AND lease_until < clock_timestamp()")).length === 1,
      { timeoutMs: 20_000, what: 'member lease lapsed while close() waits for the handler' },
    );
    expect(GatedHandler.events).toEqual(['started']);
    GatedHandler.open();
    await closed;
    expect(GatedHandler.events).toEqual(['started', 'finished', 'closed']);
    expect(await env.query('inventory', 'SELECT 1 FROM reservations WHERE "orderId" = $1', [id])).toHaveLength(1);
    const progress = await (await env.admin()).admin.groupProgress('gated-inventory');
    expect(progress.map((q) => q.lag).every((lag) => lag === 0)).toBe(true);
  });

  it('refuses a listener on a request-scoped provider at startup', async () => {
    const starting = startService({
      name: 'scoped-service',
      dbUrl: env.urls.inventory,
      brokerUrl: env.urls.broker,
      entities: [ReservationRow],
      providers: [RequestScopedHandler],
    });
    await expect(starting).rejects.toThrow(InvalidDecoratedMethodError);
    await expect(starting).rejects.toThrow(/RequestScopedHandler\.reserve.*request-scoped/);
  });

  it('a @TransactionalMessage inside a user @Transactional() joins it: sent only if the outer transaction commits', async () => {
    // a long check-back timeout: only the end of the outer transaction can resolve the halves in time
    const app = env.track(
      await startService({
        name: 'checkout-service',
        dbUrl: env.urls.order,
        brokerUrl: env.urls.broker,
        entities: [OrderRow],
        providers: [OrderService, Checkout],
        herald: { transactionTimeout: 600_000 },
      }),
    );
    const admin = (await env.admin()).admin;
    const kept = randomUUID();
    await app.get(Checkout).checkout(kept, false);
    await waitFor(async () => (await admin.queryMessagesByKey('orders', kept)).length === 1);
    expect(await env.query('order', 'SELECT id FROM orders WHERE id IN ($1, $2) ORDER BY id', [kept, `${kept}-gift`])).toHaveLength(2);

    const dropped = randomUUID();
    await expect(app.get(Checkout).checkout(dropped, true)).rejects.toThrow('checkout failed');
    await waitFor(async () => (await admin.listHalfMessages({ group: 'checkout-service' })).length === 0);
    expect(await admin.queryMessagesByKey('orders', dropped)).toEqual([]);
    expect(await env.query('order', 'SELECT id FROM orders WHERE id IN ($1, $2)', [dropped, `${dropped}-gift`])).toEqual([]);

    // the refused method's writes went back to its savepoint; the caller's own writes commit
    const refused = randomUUID();
    await app.get(Checkout).checkoutIgnoringRefusal(refused);
    await waitFor(async () => (await admin.listHalfMessages({ group: 'checkout-service' })).length === 0);
    expect(await env.query('order', 'SELECT id FROM orders WHERE id IN ($1, $2)', [refused, `${refused}-gift`])).toEqual([{ id: `${refused}-gift` }]);
    expect(await admin.queryMessagesByKey('orders', refused)).toEqual([]);
  });

  it('the health indicator reports lag and parked halves, and down when the broker database is unreachable', async () => {
    const server = await PrivatePostgres.start();
    try {
      const app = env.track(
        await startService({ name: 'health-service', dbUrl: env.urls.inventory, brokerUrl: server.url, entities: [ReservationRow], providers: [GatedHandler] }),
      );
      const health = app.get(HeraldHealthIndicator);
      expect(await health.isHealthy('herald')).toEqual({ herald: { status: 'up', lag: { 'gated-inventory': 0 }, pendingHalves: 0, parkedHalves: 0 } });
      await server.stop();
      const down = await health.isHealthy('herald', { timeout: 2_000 });
      expect(down.herald.status).toBe('down');
      expect(String(down.herald.reason)).toMatch(/broker unreachable|no answer within/);
      // no driver text: it would name the host, the port and the role
      expect(JSON.stringify(down)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|:\d{4,5}|password|user/);
    } finally {
      await server.stop();
    }
  });
});
