import { ChildScript } from '../../../test/support/child-process';
import { useTestDatabase } from '../../../test/support/test-database';

const db = useTestDatabase();

describe('documentation examples', () => {
  it('the README quick start runs and its consumer receives the message', async () => {
    const child = ChildScript.start('libs/broker/examples/quick-start.ts', { BROKER_URL: db.url });
    try {
      await child.waitForLine(/^stored as [0-9A-F]{32} at queue \d, offset 0$/);
      await child.waitForLine(/^OrderCreated order-1: \{"orderId":"order-1","total":42\}$/);
      expect((await child.exited).code).toBe(0);
    } finally {
      await child.kill();
    }
  });
});
