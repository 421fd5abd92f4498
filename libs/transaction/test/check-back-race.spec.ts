import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Repository } from 'typeorm';
import { MessageListener, TransactionalMessage, TransactionCheckedBackError, TransactionLogChecker } from '@herald/transaction';
import type { TransactionResolution } from '@herald/broker';
import { waitFor } from '@herald/test-support/wait-for';
import { OrderRow, ReservationRow } from './fixtures/order-inventory';
import type { OrderCreated } from './fixtures/order-inventory';
import { startService, useServiceDatabases } from './nest-harness';

/** Two topics whose log-row insert the test can hold: after the row is written, or before. */
@Injectable()
class RaceOrders {
  constructor(@InjectRepository(OrderRow) private readonly orders: Repository<OrderRow>) {}

  @TransactionalMessage({ topic: 'race-after', keys: (order: OrderRow) => [order.id] })
  async createHeldAfterLogRow(id: string): Promise<OrderRow> {
    return this.orders.save(this.orders.create({ id, item: 'held' }));
  }

  @TransactionalMessage({ topic: 'race-before', keys: (order: OrderRow) => [order.id] })
  async createHeldBeforeLogRow(id: string): Promise<OrderRow> {
    return this.orders.save(this.orders.create({ id, item: 'held' }));
  }
}

@Injectable()
class RaceReceiver {
  constructor(@InjectRepository(ReservationRow) private readonly reservations: Repository<ReservationRow>) {}

  /** Counts every application: a second message for the order shows as applied = 2 (a plain insert would only fail on the key). */
  @MessageListener({ topic: 'race-after', group: 'race-receiver' })
  async apply(event: OrderCreated, ctx: { msgId: string }): Promise<void> {
    const existing = await this.reservations.findOneBy({ orderId: event.id });
    if (existing) await this.reservations.update({ orderId: event.id }, { applied: existing.applied + 1 });
    else await this.reservations.insert({ orderId: event.id, msgId: ctx.msgId, applied: 1 });
  }
}

const AFTER_LOCK = 4242;
const BEFORE_LOCK = 4343;

// Test-only triggers on the log table: a COMMITTED insert of the named topic waits for an
// advisory lock the test holds (the latch), then fails if the test asked it to.
const GATES = `
  CREATE TABLE IF NOT EXISTS public.race_fail (topic text PRIMARY KEY);
  CREATE OR REPLACE FUNCTION public.gate_log() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.state = 'COMMITTED' AND NEW.topic = TG_ARGV[0] THEN
      PERFORM pg_advisory_xact_lock_shared(TG_ARGV[1]::bigint);
      IF EXISTS (SELECT 1 FROM public.race_fail WHERE topic = NEW.topic) THEN
        RAISE EXCEPTION 'injected failure before the local commit';
      END IF;
    END IF;
    RETURN NEW;
  END $$;
  DROP TRIGGER IF EXISTS gate_after ON herald_local.transaction_log;
  DROP TRIGGER IF EXISTS gate_before ON herald_local.transaction_log;
  CREATE TRIGGER gate_after AFTER INSERT ON herald_local.transaction_log FOR EACH ROW EXECUTE FUNCTION public.gate_log('race-after', '${AFTER_LOCK}');
  CREATE TRIGGER gate_before BEFORE INSERT ON herald_local.transaction_log FOR EACH ROW EXECUTE FUNCTION public.gate_log('race-before', '${BEFORE_LOCK}');
`;

const env = useServiceDatabases('order', 'receiver');
let latch: Client;

beforeEach(async () => {
  latch = new Client({ connectionString: env.urls.order });
  await latch.connect();
});
afterEach(async () => {
  await latch.end();
});

async function start(): Promise<{ orders: RaceOrders; checks: jest.SpiedFunction<TransactionLogChecker['check']> }> {
  // check-back 200 ms after a half is stored, so it races the held local transaction
  const app = env.track(
    await startService({
      name: 'race-orders',
      dbUrl: env.urls.order,
      brokerUrl: env.urls.broker,
      entities: [OrderRow],
      providers: [RaceOrders],
      herald: { transactionTimeout: 200 },
    }),
  );
  env.track(
    await startService({ name: 'race-receiver', dbUrl: env.urls.receiver, brokerUrl: env.urls.broker, entities: [ReservationRow], providers: [RaceReceiver] }),
  );
  await latch.query(GATES);
  await latch.query('TRUNCATE public.race_fail');
  return { orders: app.get(RaceOrders), checks: jest.spyOn(app.get(TransactionLogChecker), 'check') };
}

/** Until the local transaction waits on the latch. */
function heldAtLatch(lock: number): Promise<unknown> {
  return waitFor(async () => (await latch.query('SELECT 1 FROM pg_locks WHERE locktype = $1 AND objid = $2 AND NOT granted', ['advisory', lock])).rowCount);
}

/** The check-back's answer for the order `id` (waits until the checker was called for it and answered). */
async function checkBackAnswer(checks: jest.SpiedFunction<TransactionLogChecker['check']>, id: string): Promise<TransactionResolution> {
  const index = await waitFor(() => {
    const i = checks.mock.calls.findIndex(([message]) => message.keys.includes(id));
    return i >= 0 ? i + 1 : null;
  });
  return checks.mock.results[index - 1].value as Promise<TransactionResolution>;
}

/** Stores the half and the log row, holds the local transaction open, and waits until a check-back is blocked on it. */
async function holdAfterLogRowWithCheckBackWaiting(): Promise<{
  call: Promise<OrderRow>;
  checks: jest.SpiedFunction<TransactionLogChecker['check']>;
  id: string;
}> {
  const { orders, checks } = await start();
  const id = randomUUID();
  await latch.query('SELECT pg_advisory_lock($1)', [AFTER_LOCK]);
  const call = orders.createHeldAfterLogRow(id);
  call.catch(() => undefined); // (b) rejects it on purpose; the test awaits it
  await heldAtLatch(AFTER_LOCK);
  // the check-back's marker insert is blocked on the open transaction's log row
  await waitFor(async () => (await latch.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%ROLLED_BACK%'")).rowCount);
  return { call, checks, id };
}

async function nothingSent(id: string, topic: string): Promise<void> {
  const admin = (await env.admin()).admin;
  await waitFor(async () => (await admin.listHalfMessages({ group: 'race-orders' })).length === 0);
  expect(await admin.queryMessagesByKey(topic, id)).toEqual([]);
  expect(await env.query('order', 'SELECT 1 FROM orders WHERE id = $1', [id])).toEqual([]);
}

describe('check-back racing a slow local transaction (latches, no sleeps)', () => {
  it('(a) the local transaction commits while the check-back waits → COMMIT, delivered once', async () => {
    const { call, checks, id } = await holdAfterLogRowWithCheckBackWaiting();
    await latch.query('SELECT pg_advisory_unlock($1)', [AFTER_LOCK]);
    await expect(call).resolves.toMatchObject({ id });
    expect(await checkBackAnswer(checks, id)).toBe('COMMIT');
    const admin = (await env.admin()).admin;
    await waitFor(async () => (await env.query('receiver', 'SELECT 1 FROM reservations WHERE "orderId" = $1', [id])).length > 0, { what: 'order applied' });
    // a second message (or a redelivery) would still be in the group's lag when the first row appears
    await env.drained('race-receiver');
    const messages = await admin.queryMessagesByKey('race-after', id);
    expect(messages).toHaveLength(1);
    expect(await env.query('receiver', 'SELECT "msgId", applied FROM reservations WHERE "orderId" = $1', [id])).toEqual([
      { msgId: messages[0].msgId, applied: 1 },
    ]);
  });

  it('(b) the local transaction throws while the check-back waits → ROLLBACK, nothing delivered', async () => {
    const { call, checks, id } = await holdAfterLogRowWithCheckBackWaiting();
    await latch.query("INSERT INTO public.race_fail VALUES ('race-after')");
    await latch.query('SELECT pg_advisory_unlock($1)', [AFTER_LOCK]);
    await expect(call).rejects.toThrow('injected failure before the local commit');
    expect(await checkBackAnswer(checks, id)).toBe('ROLLBACK');
    await nothingSent(id, 'race-after');
  });

  it('(c) a check-back marker written between the half and the log row makes the local transaction fail; nothing delivered', async () => {
    const { orders, checks } = await start();
    const id = randomUUID();
    await latch.query('SELECT pg_advisory_lock($1)', [BEFORE_LOCK]);
    const call = orders.createHeldBeforeLogRow(id);
    await heldAtLatch(BEFORE_LOCK);
    // the half exists, the log row does not: the check-back claims the id first
    expect(await checkBackAnswer(checks, id)).toBe('ROLLBACK');
    await latch.query('SELECT pg_advisory_unlock($1)', [BEFORE_LOCK]);
    const error: unknown = await call.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransactionCheckedBackError);
    expect(error).toMatchObject({ code: 'TRANSACTION_CHECKED_BACK', topic: 'race-before' });
    await nothingSent(id, 'race-before');
  });
});
