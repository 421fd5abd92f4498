import { Client } from 'pg';
import type { HalfMessageInfo } from '@herald/broker';
import { ORDER_EVENTS, OrderItem } from '../../shared/src/contracts';
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
export async function postOrders(
  api: SampleApi,
  count: number,
  concurrency: number,
  onAccepted: (id: string) => void = () => undefined,
  items: (i: number) => OrderItem[] = basket,
): Promise<string[]> {
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

/** What part 1 saw: the status of each order, and the rejected one's status and last history entry. */
export interface NormalFlowObservation {
  statuses: string[];
  rejected: { status: string; detail: string | null };
}

/** 1. A few orders all the way through, one rejected for lack of stock (compensation). */
export async function normalFlow({ api, ui }: DemoContext): Promise<NormalFlowObservation> {
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
  return {
    statuses: await Promise.all(ids.map(async (id) => (await api.getOrder(id)).status)),
    rejected: { status: greedy.status, detail: greedy.history.at(-1)?.detail ?? null },
  };
}

/** 2. A burst accepted at API speed, consumed at the consumers' bounded rate. */
export async function peakShaving({ api, ui, cluster }: DemoContext, count: number): Promise<{ accepted: number; processed: number; peakBacklog: number }> {
  ui.section(
    2,
    'Peak shaving',
    `${count} orders arrive at once: the order API accepts them as fast as it can; inventory and logistics work through the backlog with 2 handlers each.`,
  );
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
  ui.say(
    `accepted ${count} in ${((acceptedAt - started) / 1000).toFixed(1)} s (${acceptRate.toFixed(0)}/s); processed in ${((finishedAt - started) / 1000).toFixed(1)} s (${processRate.toFixed(0)}/s); inventory backlog peaked at ${peakBacklog}`,
  );
  return { accepted, processed, peakBacklog };
}

/** What part 3 saw: orders reserved while logistics was down, its backlog then, and the statuses after it returned. */
export interface DecouplingObservation {
  confirmedWhileDown: number;
  logisticsBacklogWhileDown: number;
  statusesAfter: string[];
  logisticsBacklogAfter: number;
}

/** 3. Logistics down: orders keep flowing in and being reserved; its backlog waits in the broker. */
export async function decoupling({ api, ui, cluster }: DemoContext): Promise<DecouplingObservation> {
  ui.section(3, 'Decoupling', 'logistics is stopped; orders are still accepted and reserved; when it returns, its backlog is delivered.');
  await cluster.logistics.stop();
  ui.say('logistics stopped (SIGTERM: in-flight work finished, offsets committed)');
  const ids = await postOrders(api, 50, 8);
  await until(
    async () => {
      for (const id of ids) if ((await api.getOrder(id)).status !== 'CONFIRMED') return false;
      return true;
    },
    'the orders to be reserved',
    60_000,
    200,
  );
  const logisticsBacklogWhileDown = (await cluster.backlog()).logistics;
  ui.say(`50 orders accepted and CONFIRMED by inventory; logistics backlog: ${logisticsBacklogWhileDown} messages`);
  await cluster.logistics.start();
  ui.say('logistics started again');
  await until(() => settled(api, ids), 'logistics to catch up', 60_000, 200);
  await until(async () => (await cluster.backlog()).logistics === 0, 'the logistics offsets to be committed', 30_000, 200);
  ui.say('all 50 SHIPPED; logistics backlog: 0');
  return {
    confirmedWhileDown: ids.length,
    logisticsBacklogWhileDown,
    statusesAfter: await Promise.all(ids.map(async (id) => (await api.getOrder(id)).status)),
    logisticsBacklogAfter: (await cluster.backlog()).logistics,
  };
}

/** What part 4 saw: redeliveries across the restart, and the poison message's way through the DLQ. */
export interface RetryObservation {
  redeliveries: number;
  statusesAfterRetries: string[];
  poison: { attemptsBeforeDlq: number; statusWhileInDlq: string; resent: number; statusAfterResend: string };
}

/** 4. Failures retried on the decaying schedule from the broker's store, across a restart; a poison message to the DLQ and back. */
export async function retryPersistence({ api, ui, cluster }: DemoContext): Promise<RetryObservation> {
  ui.section(
    4,
    'Retry persistence',
    'inventory is told to fail its next 6 deliveries; retries come back on the decaying schedule (compressed ×0.01: 100 ms, 300 ms, 600 ms, …) and survive a restart of inventory.',
  );
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
  const statusesAfterRetries = await Promise.all(ids.map(async (id) => (await api.getOrder(id)).status));

  ui.say('a poison message: every order with "fig" fails in inventory');
  await api.faults('inventory', { poisonSku: 'fig' });
  const { id: poisoned } = await api.createOrder('customer-figs', [{ sku: 'fig', qty: 1 }]);
  const [dead] = await until(
    async () => {
      const dlq = await cluster.broker.admin.listDlq('inventory');
      const found = dlq.filter((m) => m.keys.includes(poisoned));
      return found.length > 0 ? found : null;
    },
    'the poison order to reach the DLQ',
    60_000,
    200,
  );
  const statusWhileInDlq = (await api.getOrder(poisoned)).status;
  ui.say(`order ${poisoned.slice(0, 8)}… is in %DLQ%inventory after ${dead.reconsumeTimes + 1} attempts; the order is still ${statusWhileInDlq}`);
  await api.faults('inventory', { poisonSku: null });
  const { resent } = await cluster.broker.admin.resendDlq('inventory', [dead.msgId]);
  ui.say(
    `fixed (fault cleared) and resent ${resent} message from the DLQ (it failed with ${dead.lastError?.type ?? 'an error'}: ${dead.lastError?.message ?? '?'})`,
  );
  await until(() => settled(api, [poisoned]), 'the resent order to settle', 60_000, 200);
  const statusAfterResend = (await api.getOrder(poisoned)).status;
  ui.say(`order ${poisoned.slice(0, 8)}… is ${statusAfterResend}`);
  cluster.inventory.onLine = () => undefined;
  return {
    redeliveries: retries.length,
    statusesAfterRetries,
    poison: { attemptsBeforeDlq: dead.reconsumeTimes + 1, statusWhileInDlq, resent, statusAfterResend },
  };
}

/** What part 5 saw right after the crash, for the tests to hold it to its claim. */
export interface CheckBackObservation {
  orderId: string;
  /** Whether POST /orders answered (it must not: the process died before responding). */
  answered: boolean;
  /** The order-service halves the broker held right after the crash. */
  halvesAfterCrash: HalfMessageInfo[];
  /** OrderCreated messages of the order stored at the broker right after the crash (none: only the half). */
  deliveredAfterCrash: number;
  /** msgId of the OrderCreated the check-back committed. */
  committedMsgId: string;
}

/** 5. The order process dies between its local commit and the broker commit; check-back finishes the message. */
export async function checkBack({ api, ui, cluster }: DemoContext): Promise<CheckBackObservation> {
  ui.section(
    5,
    'Check-back',
    'the order process is SIGKILLed right after an order commits locally, before the broker commit; a new order process answers the check-back from its transaction log.',
  );
  await api.faults('order', { crashAfterLocalCommit: true });
  const request = api.createOrder('customer-unlucky', [{ sku: 'plum', qty: 1 }]).then(
    () => true,
    () => false,
  );
  await cluster.order.whenExited();
  const answered = await request;
  ui.say(`POST /orders: ${answered ? 'answered' : 'no answer: the process died'}`);
  const orderId = await latestOrder(cluster.urls.order);
  const halvesAfterCrash = await cluster.broker.admin.listHalfMessages({ group: 'order-service' });
  const deliveredAfterCrash = (await cluster.broker.admin.queryMessagesByKey(ORDER_EVENTS, orderId)).length;
  ui.say(
    `order ${orderId.slice(0, 8)}… is committed in the order database; the broker holds ${halvesAfterCrash.length} unresolved half message(s) and ${deliveredAfterCrash} delivered OrderCreated for it`,
  );
  // the part shows nothing unless the kill landed between the two commits
  if (answered || halvesAfterCrash.length !== 1 || deliveredAfterCrash !== 0)
    throw new Error('demo: the crash did not leave exactly one half message between the local and the broker commit');
  await cluster.order.start();
  ui.say('a new order process started; the broker checks back after transactionTimeout (6 s)');
  await until(async () => (await cluster.broker.admin.listHalfMessages({ group: 'order-service' })).length === 0, 'the check-back', 60_000, 200);
  const [committed] = await cluster.broker.admin.queryMessagesByKey(ORDER_EVENTS, orderId);
  if (!committed) throw new Error(`demo: the check-back resolved the half of order ${orderId} without delivering its OrderCreated`);
  ui.say('check-back answered COMMIT from the transaction log: the half message is delivered');
  await until(() => settled(api, [orderId]), 'the order to settle', 60_000, 200);
  ui.say(`order ${orderId.slice(0, 8)}… is ${(await api.getOrder(orderId)).status}`);
  return { orderId, answered, halvesAfterCrash, deliveredAfterCrash, committedMsgId: committed.msgId };
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

/** Part 6's result: consistency from message delivery alone, then what a reconciliation pass still had to repair. */
export interface FinalReport extends ConsistencyReport {
  /** Orders the reconciliation pass run after the check repaired (inventory + logistics): 0 when delivery alone did it all. */
  repaired: number;
}

/**
 * 6. Waits for every order to settle through message delivery alone (failing if they do not
 * within `settleTimeoutMs`), checks every order across the four databases, and only then runs
 * reconciliation: it must find nothing to repair, or delivery lost something.
 */
export async function finalReport({ api, ui, cluster }: DemoContext, settleTimeoutMs = 120_000): Promise<FinalReport> {
  ui.section(
    6,
    'Final consistency report',
    'every order checked in all four databases after message delivery alone; then the second leg of best-effort notification (reconciliation against GET /orders/changes) must find nothing left to repair.',
  );
  let moving = '';
  await until(
    async () => {
      const stats = await api.orderStats();
      const backlog = await cluster.backlog();
      moving = `PENDING ${stats.PENDING}, CONFIRMED ${stats.CONFIRMED}, backlog ${JSON.stringify(backlog)}`;
      return stats.PENDING + stats.CONFIRMED === 0 && Object.values(backlog).every((lag) => lag === 0);
    },
    'every order to settle',
    settleTimeoutMs,
    250,
  ).catch((error: unknown) => {
    throw new Error(`demo: orders did not settle through message delivery within ${settleTimeoutMs} ms (${moving})`, { cause: error });
  });
  ui.say('every order settled by message delivery: nothing PENDING or CONFIRMED, every consumer group caught up');
  const delivered = await checkConsistency(cluster.urls);
  ui.say(
    `orders ${delivered.orders} (shipped ${delivered.shipped}, cancelled ${delivered.cancelled}) · lost ${delivered.lost} · phantom ${delivered.phantom} · duplicated effects ${delivered.duplicated} · pending ${delivered.pending} · inconsistent ${delivered.inconsistent}`,
  );
  for (const problem of delivered.problems) ui.say(`  ${problem}`);
  let repaired = 0;
  for (const service of ['inventory', 'logistics'] as const) {
    const result = await api.reconcile(service);
    repaired += result.repaired;
    ui.say(`${service} reconciliation afterwards: ${result.checked} order(s) it might have missed, ${result.repaired} repaired`);
  }
  const report: FinalReport = { ...delivered, repaired, consistent: delivered.consistent && repaired === 0 };
  ui.say(report.consistent ? 'CONSISTENT: delivered by messages alone; nothing lost, nothing applied twice, nothing left to repair' : 'NOT CONSISTENT');
  return report;
}
