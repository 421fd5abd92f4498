import { Client } from 'pg';
import type { OrderItem, OrderStatus } from '../../shared/src/contracts';
import type { ServiceName } from './service-process';

export interface ConsistencyReport {
  orders: number;
  shipped: number;
  cancelled: number;
  /** Orders committed at the order service whose OrderCreated never reached the broker. */
  lost: number;
  /** Messages or effects for orders that never committed at the order service. */
  phantom: number;
  /** Effects applied more than once: decisions, stock movements, shipments, OrderCreated messages; stock counters off. */
  duplicated: number;
  /** Orders still on their way (PENDING, CONFIRMED). */
  pending: number;
  /** Final at the order service, but the other services disagree. */
  inconsistent: number;
  /** The first problems found, for the log. */
  problems: string[];
  consistent: boolean;
}

async function rows<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** Reads all four databases and checks every order across them. */
export async function checkConsistency(urls: Record<ServiceName | 'broker', string>): Promise<ConsistencyReport> {
  const [orders, decisions, movements, stock, shipments, sent] = await Promise.all([
    rows<{ id: string; status: OrderStatus; items: OrderItem[] }>(urls.order, 'SELECT id, status, items FROM orders'),
    rows<{ orderId: string; decision: string }>(urls.inventory, 'SELECT "orderId", decision FROM order_decisions'),
    rows<{ orderId: string; sku: string; qty: number }>(urls.inventory, 'SELECT "orderId", sku, qty FROM stock_movements'),
    rows<{ sku: string; reserved: number }>(urls.inventory, 'SELECT sku, reserved FROM stock'),
    rows<{ orderId: string }>(urls.logistics, 'SELECT "orderId" FROM shipments'),
    rows<{ orderId: string }>(urls.broker, `SELECT k AS "orderId" FROM herald.messages, unnest(keys) k WHERE topic = 'order-events' AND tag = 'OrderCreated'`),
  ]);
  const report: ConsistencyReport = {
    orders: orders.length,
    shipped: 0,
    cancelled: 0,
    lost: 0,
    phantom: 0,
    duplicated: 0,
    pending: 0,
    inconsistent: 0,
    problems: [],
    consistent: false,
  };
  const problem = (kind: keyof ConsistencyReport, text: string): void => {
    (report[kind] as number) += 1;
    if (report.problems.length < 20) report.problems.push(`${kind}: ${text}`);
  };
  const known = new Set(orders.map((o) => o.id));
  const decisionsOf = new Map<string, string[]>();
  for (const d of decisions) decisionsOf.set(d.orderId, [...(decisionsOf.get(d.orderId) ?? []), d.decision]);
  const movementCount = countBy(movements, (m) => m.orderId);
  const shipmentCount = countBy(shipments, (s) => s.orderId);
  const sentCount = countBy(sent, (s) => s.orderId);

  for (const id of new Set([...decisionsOf.keys(), ...movementCount.keys(), ...shipmentCount.keys(), ...sentCount.keys()])) {
    if (!known.has(id)) problem('phantom', `effects or messages for order ${id}, which the order service never committed`);
  }
  for (const order of orders) {
    const made = decisionsOf.get(order.id) ?? [];
    const lines = new Set(order.items.map((i) => i.sku)).size;
    const moved = movementCount.get(order.id) ?? 0;
    const shipped = shipmentCount.get(order.id) ?? 0;
    const messages = sentCount.get(order.id) ?? 0;
    if (messages === 0) problem('lost', `order ${order.id} has no OrderCreated message`);
    if (messages > 1 || made.length > 1 || moved > lines || shipped > 1) {
      problem(
        'duplicated',
        `order ${order.id}: ${messages} OrderCreated, ${made.length} decisions, ${moved} movements for ${lines} lines, ${shipped} shipments`,
      );
    }
    if (order.status === 'PENDING' || order.status === 'CONFIRMED') {
      problem('pending', `order ${order.id} is still ${order.status}`);
    } else if (order.status === 'SHIPPED') {
      report.shipped += 1;
      if (made[0] !== 'RESERVED' || moved !== lines || shipped !== 1)
        problem('inconsistent', `order ${order.id} SHIPPED but decision ${made[0] ?? 'none'}, ${moved}/${lines} movements, ${shipped} shipments`);
    } else {
      report.cancelled += 1;
      if (made[0] !== 'REJECTED' || moved !== 0 || shipped !== 0)
        problem('inconsistent', `order ${order.id} CANCELLED but decision ${made[0] ?? 'none'}, ${moved} movements, ${shipped} shipments`);
    }
  }
  // the stock counters must equal the movements: a double decrement shows here
  const movedBySku = new Map<string, number>();
  for (const m of movements) movedBySku.set(m.sku, (movedBySku.get(m.sku) ?? 0) + m.qty);
  for (const row of stock) {
    if (row.reserved !== (movedBySku.get(row.sku) ?? 0))
      problem('duplicated', `sku ${row.sku}: reserved ${row.reserved} but movements add up to ${movedBySku.get(row.sku) ?? 0}`);
  }
  report.consistent = report.lost + report.phantom + report.duplicated + report.pending + report.inconsistent === 0;
  return report;
}
