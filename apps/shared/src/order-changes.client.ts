import type { OrderChange, OrderChangesPage } from './contracts';

/**
 * Reconciliation, the second leg of best-effort notification: every order the order
 * service changed after `since`, read page by page from GET /orders/changes.
 */
export async function* orderChanges(orderUrl: string, since = 0): AsyncGenerator<OrderChange> {
  let cursor = since;
  for (;;) {
    const response = await fetch(`${orderUrl}/orders/changes?since=${cursor}&limit=500`);
    if (!response.ok) throw new Error(`GET /orders/changes answered ${response.status}`);
    const page = (await response.json()) as OrderChangesPage;
    for (const change of page.changes) yield change;
    if (page.changes.length === 0) return;
    cursor = page.next;
  }
}
