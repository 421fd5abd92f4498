import { ORDER_EVENTS, INVENTORY_EVENTS } from '../../apps/shared/src/contracts';
import { checkConsistency } from '../../apps/demo/src/consistency';
import { postOrders } from '../../apps/demo/src/scenarios';
import { until } from '../../apps/demo/src/ui';
import { adminUrl } from '../support/test-env';
import { dropCluster, startCluster } from './cluster-harness';

describe('reconciliation: the second leg of best-effort notification', () => {
  it('inventory and logistics catch up, through GET /orders/changes, with orders whose messages they skipped', async () => {
    const ctx = await startCluster(adminUrl());
    const { cluster, api } = ctx;
    const statuses = async (ids: string[]): Promise<string[]> => Promise.all(ids.map(async (id) => (await api.getOrder(id)).status));
    try {
      // logistics misses the StockReserved of three orders: its offsets are moved past them while it is down
      await cluster.logistics.stop();
      const missedByLogistics = await postOrders(api, 3, 3);
      await until(async () => (await statuses(missedByLogistics)).every((s) => s === 'CONFIRMED'), 'the orders to be reserved');
      await cluster.broker.admin.resetOffset('logistics', INVENTORY_EVENTS, Date.now() + 60_000);
      await cluster.logistics.start();
      expect(await api.reconcile('logistics')).toEqual({ checked: 3, repaired: 3 });
      await until(async () => (await statuses(missedByLogistics)).every((s) => s === 'SHIPPED'), 'the reconciled orders to ship');

      // inventory misses two OrderCreated the same way
      await cluster.inventory.stop();
      const missedByInventory = await postOrders(api, 2, 2);
      await cluster.broker.admin.resetOffset('inventory', ORDER_EVENTS, Date.now() + 60_000);
      await cluster.inventory.start();
      expect((await statuses(missedByInventory)).every((s) => s === 'PENDING')).toBe(true);
      expect(await api.reconcile('inventory')).toEqual({ checked: 2, repaired: 2 });
      await until(async () => (await statuses(missedByInventory)).every((s) => s === 'SHIPPED'), 'the reconciled orders to ship');

      // a second pass finds nothing left to do, and nothing was applied twice
      expect(await api.reconcile('inventory')).toEqual({ checked: 0, repaired: 0 });
      expect(await api.reconcile('logistics')).toEqual({ checked: 0, repaired: 0 });
      expect(await checkConsistency(cluster.urls)).toMatchObject({ orders: 5, shipped: 5, lost: 0, phantom: 0, duplicated: 0, pending: 0, inconsistent: 0 });
    } finally {
      await cluster.close();
      await dropCluster(adminUrl(), ctx.prefix);
    }
  }, 180_000);
});
