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
      await checkBack(ctx);
      const report = await finalReport(ctx);
      console.log(ctx.output.filter((line) => /accepted|CONSISTENT|orders \d+/.test(line)).join('\n'));
      expect(report).toMatchObject({ lost: 0, phantom: 0, duplicated: 0, pending: 0, inconsistent: 0, consistent: true });
      // 5 + 200 + 50 + 2 + 1 + 1, one rejected for lack of stock
      expect(report.orders).toBe(259);
      expect(report.cancelled).toBe(1);
      expect(report.shipped).toBe(258);
    } catch (error) {
      throw new Error(`${String(error)}\ndemo output:\n${ctx.output.join('\n')}`);
    } finally {
      await ctx.cluster.close();
      await dropCluster(adminUrl(), ctx.prefix);
    }
  }, 300_000);
});
