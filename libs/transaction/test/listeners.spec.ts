import { Broker } from '@herald/broker';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { InvalidDecoratedMethodError, MessageListener, TransactionalMessage, TransactionLogChecker } from '@herald/transaction';
import type { MessageContext } from '@herald/transaction';
import { waitFor } from '@herald/test-support/wait-for';
import { InventoryHandlers, OrderRow, OrderService, ReservationRow } from './fixtures/order-inventory';
import { startService, useServiceDatabases } from './nest-harness';
import { backgroundJobs } from '@herald/broker/internal';

const env = useServiceDatabases('order', 'inventory');

interface Step {
  orderId: string;
  seq: number;
}

@Injectable()
class Steps {
  @TransactionalMessage({ topic: 'order-steps', tag: 'Step', messageGroup: (step: Step) => step.orderId })
  async record(orderId: string, seq: number): Promise<Step> {
    return { orderId, seq };
  }
}

/** Uneven handling times: only ordered consumption keeps the send order. */
@Injectable()
class OrderedSteps {
  static seen: number[] = [];
  constructor(@InjectRepository(ReservationRow) private readonly reservations: Repository<ReservationRow>) {}

  @MessageListener({ topic: 'order-steps', group: 'ordered-steps', orderly: true })
  async apply(step: Step): Promise<void> {
    await this.reservations.query('SELECT pg_sleep($1)', [0.02 * (step.seq % 3)]);
    OrderedSteps.seen.push(step.seq);
  }
}

@Injectable()
class RegionalOrders {
  @TransactionalMessage({ topic: 'regional-orders', properties: (order: { region: string }) => ({ region: order.region }) })
  async place(id: string, region: string): Promise<{ id: string; region: string }> {
    return { id, region };
  }
}

/** Only EU orders, by an SQL92 filter over the message properties. */
@Injectable()
class EuropeanDesk {
  static seen: string[] = [];

  @MessageListener({ topic: 'regional-orders', group: 'eu-desk', sql: "region = 'eu'" })
  async take(order: { id: string }): Promise<void> {
    EuropeanDesk.seen.push(order.id);
  }
}

@Injectable()
class SecondInventoryListener {
  @MessageListener({ topic: 'orders', group: 'inventory' })
  async again(_event: unknown, _ctx: MessageContext): Promise<void> {}
}

describe('@MessageListener options and duties', () => {
  it('orderly: one message group is applied in send order', async () => {
    const app = env.track(
      await startService({ name: 'steps-service', dbUrl: env.urls.order, brokerUrl: env.urls.broker, entities: [OrderRow], providers: [Steps] }),
    );
    env.track(
      await startService({
        name: 'steps-consumer',
        dbUrl: env.urls.inventory,
        brokerUrl: env.urls.broker,
        entities: [ReservationRow],
        providers: [OrderedSteps],
      }),
    );
    const orderId = randomUUID();
    for (let seq = 1; seq <= 12; seq += 1) await app.get(Steps).record(orderId, seq);
    await waitFor(() => OrderedSteps.seen.length === 12);
    expect(OrderedSteps.seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('sql: a listener gets only the messages whose properties match', async () => {
    const app = env.track(
      await startService({ name: 'regional-service', dbUrl: env.urls.order, brokerUrl: env.urls.broker, entities: [OrderRow], providers: [RegionalOrders] }),
    );
    env.track(
      await startService({
        name: 'eu-desk-service',
        dbUrl: env.urls.inventory,
        brokerUrl: env.urls.broker,
        entities: [ReservationRow],
        providers: [EuropeanDesk],
      }),
    );
    for (const [id, region] of [
      ['o1', 'us'],
      ['o2', 'eu'],
      ['o3', 'apac'],
      ['o4', 'eu'],
    ])
      await app.get(RegionalOrders).place(id, region);
    await waitFor(async () => (await (await env.admin()).admin.groupProgress('eu-desk')).every((q) => q.lag === 0) && EuropeanDesk.seen.length >= 2);
    expect(EuropeanDesk.seen.sort()).toEqual(['o2', 'o4']);
  });

  it('a provider discovered twice (an alias) is registered once: one consumer, one message per call', async () => {
    const app = env.track(
      await startService({
        name: 'order-service',
        dbUrl: env.urls.order,
        brokerUrl: env.urls.broker,
        entities: [OrderRow],
        providers: [OrderService, { provide: 'ORDERS_ALIAS', useExisting: OrderService }],
      }),
    );
    env.track(
      await startService({
        name: 'inventory-service',
        dbUrl: env.urls.inventory,
        brokerUrl: env.urls.broker,
        entities: [ReservationRow],
        providers: [InventoryHandlers, { provide: 'HANDLERS_ALIAS', useExisting: InventoryHandlers }],
      }),
    );
    const id = randomUUID();
    await app.get<OrderService>('ORDERS_ALIAS').create(id, 'twice-found');
    const admin = (await env.admin()).admin;
    expect(await admin.queryMessagesByKey('orders', id)).toHaveLength(1);
    await waitFor(async () => (await env.query('inventory', 'SELECT 1 FROM reservations WHERE "orderId" = $1', [id])).length === 1);
    expect((await admin.groupMembers('inventory')).length).toBe(1);
  });

  it('refuses two listeners in one consumer group', async () => {
    const starting = startService({
      name: 'inventory-service',
      dbUrl: env.urls.inventory,
      brokerUrl: env.urls.broker,
      entities: [ReservationRow],
      providers: [InventoryHandlers, SecondInventoryListener],
    });
    await expect(starting).rejects.toThrow(InvalidDecoratedMethodError);
    await expect(starting).rejects.toThrow(/consumer group "inventory" already has a listener \(InventoryHandlers\.reserve\)/);
  });

  it('a per-topic checker override answers for its topic; other topics use the transaction log', async () => {
    const app = env.track(
      await startService({
        name: 'order-service',
        dbUrl: env.urls.order,
        brokerUrl: env.urls.broker,
        entities: [OrderRow],
        providers: [OrderService],
        herald: { checkers: { 'legacy-orders': () => 'COMMIT' } },
      }),
    );
    const checker = app.get(TransactionLogChecker);
    const view = {
      msgId: 'm-1',
      body: Buffer.alloc(0),
      keys: [],
      properties: {},
      queueId: 0,
      queueOffset: 0,
      bornAt: new Date(),
      storedAt: new Date(),
      reconsumeTimes: 0,
    };
    const transactionId = randomUUID();
    expect(await checker.check({ ...view, topic: 'legacy-orders', transactionId })).toBe('COMMIT');
    expect(await env.query('order', 'SELECT 1 FROM herald_local.transaction_log WHERE transaction_id = $1', [transactionId])).toEqual([]);
    // unknown to the log: the marker wins
    expect(await checker.check({ ...view, topic: 'orders', transactionId })).toBe('ROLLBACK');
    expect(await env.query('order', 'SELECT state FROM herald_local.transaction_log WHERE transaction_id = $1', [transactionId])).toEqual([
      { state: 'ROLLED_BACK' },
    ]);
  });

  it('retention deletes old transaction-log rows of resolved halves, and inbox rows once the broker no longer holds the message', async () => {
    // the shortest legal retentions: the log outlasts the check-back window, the inbox the broker's retention and retries
    const herald = {
      retention: 1_500,
      retentionCheckInterval: 1_000,
      transactionTimeout: 100,
      maxChecks: 1,
      checkInterval: 100,
      clockTolerance: 0,
      maxReconsumeTimes: 2,
      broker: { retention: 1, retentionCheckInterval: 10, runRetention: false },
    };
    const orders = env
      .track(
        await startService({
          name: 'order-service',
          dbUrl: env.urls.order,
          brokerUrl: env.urls.broker,
          entities: [OrderRow],
          providers: [OrderService],
          herald,
        }),
      )
      .get(OrderService);
    env.track(
      await startService({
        name: 'inventory-service',
        dbUrl: env.urls.inventory,
        brokerUrl: env.urls.broker,
        entities: [ReservationRow],
        providers: [InventoryHandlers],
        herald,
      }),
    );
    const id = randomUUID();
    await orders.create(id, 'clock');
    const [sent] = await (await env.admin()).admin.queryMessagesByKey('orders', id);
    await waitFor(async () => (await env.query('inventory', 'SELECT 1 FROM herald_local.inbox WHERE msg_id = $1', [sent.msgId])).length === 1);
    // the half is resolved: its log row goes once old enough
    await waitFor(async () => (await env.query('order', 'SELECT 1 FROM herald_local.transaction_log WHERE msg_id = $1', [sent.msgId])).length === 0);
    // the inbox row is as old, but the broker still holds the message (a rewind could deliver it again): it stays
    await waitFor(
      async () =>
        (
          await env.query('inventory', "SELECT 1 FROM herald_local.inbox WHERE msg_id = $1 AND applied_at < clock_timestamp() - interval '2 seconds'", [
            sent.msgId,
          ])
        ).length === 1,
      { what: 'an inbox row past its retention' },
    );
    // the broker's own retention removes the message; then the inbox row may go
    const expirer = await Broker.connect({ connectionString: env.urls.broker, retention: 1, runScheduler: false, runRetention: false });
    try {
      await backgroundJobs(expirer).retention.runOnce();
    } finally {
      await expirer.close();
    }
    expect(await (await env.admin()).admin.storedMessageIds([sent.msgId])).toEqual([]);
    await waitFor(async () => (await env.query('inventory', 'SELECT 1 FROM herald_local.inbox WHERE msg_id = $1', [sent.msgId])).length === 0, {
      what: 'the inbox row deleted',
    });
    // the business rows stay
    expect(await env.query('inventory', 'SELECT 1 FROM reservations WHERE "orderId" = $1', [id])).toHaveLength(1);
  });
});
