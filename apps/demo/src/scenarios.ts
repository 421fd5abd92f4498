import { Client } from 'pg';
import type { OrderItem } from '../../shared/src/contracts';
import type { SampleApi } from './api';
import type { Cluster } from './cluster';
import { checkConsistency, ConsistencyReport } from './consistency';
import { DemoUi, sleep, until } from './ui';

export interface DemoContext {
  cluster: Cluster;
  api: SampleApi;
  ui: DemoUi;
}

const FRUIT = ['apple', 'pear', 'plum'];

/** A small random basket of plentiful SKUs. */
export function basket(seed: number): OrderItem[] {
  const lines = 1 + (seed % 3);
  return Array.from({ length: lines }, (_, i) => ({ sku: FRUIT[(seed + i) % FRUIT.length], qty: 1 + ((seed * 7 + i) % 3) }));
}

/** Posts `count` orders from `concurrency` callers; `onAccepted` after each 201. */
export async function postOrders(api: SampleApi, count: number, concurrency: number, onAccepted: (id: string) => void = () => undefined, items: (i: number) => OrderItem[] = basket): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next;
        next += 1;
        const { id } = await api.createOrder(`customer-${i % 97}`, items(i));
        ids.push(id);
        onAccepted(id);
      }
    }),
  );
  return ids;
}

const isFinal = (status: string): boolean => status === 'SHIPPED' || status === 'CANCELLED';

async function settled(api: SampleApi, ids: string[]): Promise<boolean> {
  for (const id of ids) if (!isFinal((await api.getOrder(id)).status)) return false;
  return true;
}

/** 1. A few orders all the way through, one rejected for lack of stock (compensation). */
export async function normalFlow({ api, ui }: DemoContext): Promise<void> {
  ui.section(1, 'Normal flow', 'POST /orders → OrderCreated (sent when the order commits) → inventory reserves → logistics ships → order SHIPPED.');
  const ids = await postOrders(api, 4, 4);
  const { id: rejected } = await api.createOrder('customer-greedy', [{ sku: 'scarce', qty: 50 }]);
  ui.say(`accepted ${ids.length} orders, and one asking for 50 × scarce (5 in stock)`);
  await until(() => settled(api, [...ids, rejected]), 'the first orders to settle', 30_000);
  const order = await api.getOrder(ids[0]);
  ui.say(`order ${order.id} is ${order.status}; its history:`);
  for (const event of order.history) ui.print(`      ${event.at.slice(11, 23)}  ${event.event.padEnd(15)} ${event.detail ?? ''}`);
  const greedy = await api.getOrder(rejected);
  ui.say(`order ${rejected} is ${greedy.status}: ${greedy.history.at(-1)?.detail ?? ''} (the compensation: cancelled, nothing shipped)`);
}

/** 2. A burst accepted at API speed, consumed at the consumers' bounded rate. */
export async function peakShaving({ api, ui, cluster }: DemoContext, count: number): Promise<void> {
  ui.section(2, 'Peak shaving', `${count} orders arrive at once: the order API accepts them as fast as it can; inventory and logistics work through the backlog with 2 handlers each.`);
  const before = await api.orderStats();
  const doneBefore = before.SHIPPED + before.CANCELLED;
  const started = Date.now();
  let accepted = 0;
  let acceptedAt = 0;
  let processed = 0;
  let peakBacklog = 0;
  const bars = ui.progress(count, ['accepted', 'processed']);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const stats = await api.orderStats();
      processed = stats.SHIPPED + stats.CANCELLED - doneBefore;
      const backlog = await cluster.backlog();
      peakBacklog = Math.max(peakBacklog, backlog.inventory);
      bars.update([accepted, processed], `backlog: inventory ${backlog.inventory}, logistics ${backlog.logistics}`);
      await sleep(250);
    }
  })();
  await postOrders(api, count, 32, () => {
    accepted += 1;
    if (accepted === count) acceptedAt = Date.now();
  });
  await until(() => processed >= count, 'the burst to be processed', 300_000, 200);
  sampling = false;
  await sampler;
  bars.update([accepted, processed], 'backlog drained');
  bars.stop();
  const finishedAt = Date.now();
  const acceptRate = count / ((acceptedAt - started) / 1000);
  const processRate = count / ((finishedAt - started) / 1000);
  ui.say(`accepted ${count} in ${((acceptedAt - started) / 1000).toFixed(1)} s (${acceptRate.toFixed(0)}/s); processed in ${((finishedAt - started) / 1000).toFixed(1)} s (${processRate.toFixed(0)}/s); inventory backlog peaked at ${peakBacklog}`);
}

/** 3. Logistics down: orders keep flowing in and being reserved; its backlog waits in the broker. */
export async function decoupling({ api, ui, cluster }: DemoContext): Promise<void> {
  ui.section(3, 'Decoupling', 'logistics is stopped; orders are still accepted and reserved; when it returns, its backlog is delivered.');
  await cluster.logistics.stop();
  ui.say('logistics stopped (SIGTERM: in-flight work finished, offsets committed)');
  const ids = await postOrders(api, 50, 8);
  await until(async () => {
    for (const id of ids) if ((await api.getOrder(id)).status !== 'CONFIRMED') return false;
    return true;
  }, 'the orders to be reserved', 60_000, 200);
  ui.say(`50 orders accepted and CONFIRMED by inventory; logistics backlog: ${(await cluster.backlog()).logistics} messages`);
  await cluster.logistics.start();
  ui.say('logistics started again');
  await until(() => settled(api, ids), 'logistics to catch up', 60_000, 200);
  await until(async () => (await cluster.backlog()).logistics === 0, 'the logistics offsets to be committed', 30_000, 200);
  ui.say('all 50 SHIPPED; logistics backlog: 0');
}

/** 4. Failures retried on the decaying schedule from the broker's store, across a restart; a poison message to the DLQ and back. */
export async function retryPersistence({ api, ui, cluster }: DemoContext): Promise<void> {
  ui.section(4, 'Retry persistence', 'inventory is told to fail its next 6 deliveries; retries come back on the decaying schedule (compressed ×0.01: 100 ms, 300 ms, 600 ms, …) and survive a restart of inventory.');
  const retries: string[] = [];
  cluster.inventory.onLine = (_, line) => {
    const failed = /listener failed.* msgId=(\S+) reconsumeTimes=(\d+).*error="?([^"]*)/.exec(line);
    if (failed) ui.say(`inventory: attempt ${Number(failed[2]) + 1} of message …${failed[1].slice(-8)} failed (${failed[3]}); rolled back, retry scheduled`);
    const retry = /retry orderId=(\S+) msgId=(\S+) reconsumeTimes=(\d+)/.exec(line);
    if (retry) {
      retries.push(retry[1]);
      ui.say(`inventory: attempt ${Number(retry[3]) + 1} of message …${retry[2].slice(-8)} (order ${retry[1].slice(0, 8)}…, reconsumeTimes=${retry[3]})`);
    }
  };
  await api.faults('inventory', { failNext: 6 });
  const ids = await postOrders(api, 2, 2);
  await until(() => retries.length >= 2, 'the first retries', 30_000, 50);
  await cluster.inventory.stop();
  ui.say('inventory restarted in the middle of the retries (its injected fault is gone with the process)');
  await cluster.inventory.start();
  await until(() => settled(api, ids), 'the retried orders to settle', 60_000, 200);
  ui.say(`both orders settled after ${retries.length} redeliveries, resumed from the broker's store after the restart`);

  ui.say('a poison message: every order with "fig" fails in inventory');
  await api.faults('inventory', { poisonSku: 'fig' });
  const { id: poisoned } = await api.createOrder('customer-figs', [{ sku: 'fig', qty: 1 }]);
  const [dead] = await until(async () => {
    const dlq = await cluster.broker.admin.listDlq('inventory');
    const found = dlq.filter((m) => m.keys.includes(poisoned));
    return found.length > 0 ? found : null;
  }, 'the poison order to reach the DLQ', 60_000, 200);
  ui.say(`order ${poisoned.slice(0, 8)}… is in %DLQ%inventory after ${dead.reconsumeTimes + 1} attempts; the order is still ${(await api.getOrder(poisoned)).status}`);
  await api.faults('inventory', { poisonSku: null });
  const resent = await cluster.broker.admin.resendDlq('inventory', [dead.msgId]);
  ui.say(`fixed (fault cleared) and resent ${resent} message from the DLQ`);
  await until(() => settled(api, [poisoned]), 'the resent order to settle', 60_000, 200);
  ui.say(`order ${poisoned.slice(0, 8)}… is ${(await api.getOrder(poisoned)).status}`);
  cluster.inventory.onLine = () => undefined;
}

/** 5. The order process dies between its local commit and the broker commit; check-back finishes the message. */
export async function checkBack({ api, ui, cluster }: DemoContext): Promise<void> {
  ui.section(5, 'Check-back', 'the order process is SIGKILLed right after an order commits locally, before the broker commit; a new order process answers the check-back from its transaction log.');
  await api.faults('order', { crashAfterLocalCommit: true });
  const request = api.createOrder('customer-unlucky', [{ sku: 'plum', qty: 1 }]).then(
    () => 'answered',
    () => 'no answer: the process died',
  );
  await cluster.order.whenExited();
  ui.say(`POST /orders: ${await request}`);
  const id = await latestOrder(cluster.urls.order);
  const halves = await cluster.broker.admin.listHalfMessages({ group: 'order-service' });
  ui.say(`order ${id.slice(0, 8)}… is committed in the order database; the broker holds ${halves.length} unresolved half message(s)`);
  await cluster.order.start();
  ui.say('a new order process started; the broker checks back after transactionTimeout (6 s)');
  await until(async () => (await cluster.broker.admin.listHalfMessages({ group: 'order-service' })).length === 0, 'the check-back', 60_000, 200);
  ui.say('check-back answered COMMIT from the transaction log: the half message is delivered');
  await until(() => settled(api, [id]), 'the order to settle', 60_000, 200);
  ui.say(`order ${id.slice(0, 8)}… is ${(await api.getOrder(id)).status}`);
}

async function latestOrder(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM orders ORDER BY "createdAt" DESC LIMIT 1');
    return rows[0].id;
  } finally {
    await client.end();
  }
}

/** 6. Reconciliation, then every order checked across the four databases. */
export async function finalReport({ api, ui, cluster }: DemoContext): Promise<ConsistencyReport> {
  ui.section(6, 'Final consistency report', 'the second leg of best-effort notification (reconciliation against GET /orders/changes), then every order checked in all four databases.');
  await until(async () => {
    const stats = await api.orderStats();
    const backlog = await cluster.backlog();
    return stats.PENDING + stats.CONFIRMED === 0 && Object.values(backlog).every((lag) => lag === 0);
  }, 'every order to settle', 120_000, 250).catch(() => ui.say('some orders are still moving; reporting anyway'));
  for (const service of ['inventory', 'logistics'] as const) {
    const result = await api.reconcile(service);
    ui.say(`${service} reconciliation: ${result.checked} order(s) it might have missed, ${result.repaired} repaired`);
  }
  const report = await checkConsistency(cluster.urls);
  const line = `orders ${report.orders} (shipped ${report.shipped}, cancelled ${report.cancelled}) · lost ${report.lost} · phantom ${report.phantom} · duplicated effects ${report.duplicated} · pending ${report.pending} · inconsistent ${report.inconsistent}`;
  ui.say(line);
  for (const problem of report.problems) ui.say(`  ${problem}`);
  ui.say(report.consistent ? 'CONSISTENT: nothing lost, nothing applied twice' : 'NOT CONSISTENT');
  return report;
}
