import { ChildScript } from '@herald/test-support/child-process';
import { useServiceDatabases } from './nest-harness';

const env = useServiceDatabases('order', 'inventory');

describe('documentation examples', () => {
  it('the README quick start sends on commit and the listener applies it', async () => {
    const child = ChildScript.start('libs/transaction/examples/quick-start.ts', {
      BROKER_URL: env.urls.broker,
      ORDER_DB: env.urls.order,
      INVENTORY_DB: env.urls.inventory,
    });
    try {
      const committed = await child.waitForLine(/^order [0-9a-f-]{36} committed$/, 40_000);
      const id = committed.split(' ')[1];
      await child.waitForLine(new RegExp(`^reserved 2 × lamp for ${id} \\(msgId [0-9A-F]{32}, attempt 1\\)$`));
      expect((await child.exited).code).toBe(0);
      expect(await env.query('inventory', 'SELECT sku FROM reservation WHERE "orderId" = $1', [id])).toEqual([{ sku: 'lamp' }]);
    } finally {
      await child.kill();
    }
  });
});
