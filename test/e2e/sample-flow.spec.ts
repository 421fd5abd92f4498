import { ORDER_EVENTS } from '../../apps/shared/src/contracts';
import { checkBack, decoupling, peakShaving, retryPersistence, finalReport, normalFlow } from '../../apps/demo/src/scenarios';
import { adminUrl } from '../support/test-env';
import { dropCluster, startCluster } from './cluster-harness';

describe('the sample end to end (child processes, four databases)', () => {
  it('200 orders through a logistics outage, an inventory restart mid-retries, a poison message and a SIGKILL between commits: every order consistent', async () => {
    const ctx = await startCluster(adminUrl());
    try {
      await normalFlow(ctx);
      await peakShaving(ctx, 200);
      await decoupling(ctx);
      await retryPersistence(ctx);
      const crash = await checkBack(ctx);
      // the SIGKILL landed between the commits: the order committed locally, its OrderCreated only a pending half at the broker
      expect(crash.answered).toBe(false);
      expect(crash.halvesAfterCrash).toEqual([expect.objectContaining({ producerGroup: 'order-service', topic: ORDER_EVENTS, state: 'pending' })]);
      expect(crash.deliveredAfterCrash).toBe(0);
      // and what the check-back committed is that half
      expect(crash.committedMsgId).toBe(crash.halvesAfterCrash[0].msgId);
      const report = await finalReport(ctx);
      console.log(ctx.output.filter((line) => /accepted|CONSISTENT|orders \d+|reconciliation/.test(line)).join('\n'));
      // consistent through message delivery alone: the reconciliation pass afterwards repaired nothing
      expect(report).toMatchObject({ lost: 0, phantom: 0, duplicated: 0, pending: 0, inconsistent: 0, repaired: 0, consistent: true });
      // 5 + 200 + 50 + 2 + 1 + 1, one rejected for lack of stock
      expect(report.orders).toBe(259);
      expect(report.cancelled).toBe(1);
      expect(report.shipped).toBe(258);
    } catch (error) {
      throw new Error(`${String(error)}\ndemo output:\n${ctx.output.join('\n')}`, { cause: error });
    } finally {
      await ctx.cluster.close();
      await dropCluster(adminUrl(), ctx.prefix);
    }
  }, 300_000);
});
