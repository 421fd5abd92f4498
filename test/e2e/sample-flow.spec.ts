import { ORDER_EVENTS } from '../../apps/shared/src/contracts';
import { checkBack, decoupling, peakShaving, retryPersistence, finalReport, normalFlow } from '../../apps/demo/src/scenarios';
import { adminUrl } from '../support/test-env';
import { dropCluster, startCluster } from './cluster-harness';

describe('the sample end to end (child processes, four databases)', () => {
  it('200 orders through a logistics outage, an inventory restart mid-retries, a poison message and a SIGKILL between commits: every order consistent', async () => {
    const ctx = await startCluster(adminUrl());
    try {
      const normal = await normalFlow(ctx);
      expect(normal.statuses).toEqual(['SHIPPED', 'SHIPPED', 'SHIPPED', 'SHIPPED']);
      // the compensation: cancelled for lack of stock, nothing shipped
      expect(normal.rejected.status).toBe('CANCELLED');
      const peak = await peakShaving(ctx, 200);
      expect(peak).toMatchObject({ accepted: 200, processed: 200 });
      const outage = await decoupling(ctx);
      // reserved while logistics was down, its 50 messages waiting at the broker, then all shipped
      expect(outage.confirmedWhileDown).toBe(50);
      expect(outage.logisticsBacklogWhileDown).toBeGreaterThanOrEqual(50);
      expect(outage.statusesAfter).toEqual(Array.from({ length: 50 }, () => 'SHIPPED'));
      expect(outage.logisticsBacklogAfter).toBe(0);
      const retries = await retryPersistence(ctx);
      // redelivered from the broker's store across the inventory restart
      expect(retries.redeliveries).toBeGreaterThanOrEqual(2);
      expect(retries.statusesAfterRetries).toEqual(['SHIPPED', 'SHIPPED']);
      // the poison message: dead-lettered after maxReconsumeTimes, the order untouched, then resent and applied
      expect(retries.poison).toEqual({ attemptsBeforeDlq: 4, statusWhileInDlq: 'PENDING', resent: 1, statusAfterResend: 'SHIPPED' });
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

      // GET /metrics of each service (@willsoto/nestjs-prometheus with Herald's broker metrics on the same registry)
      const scrape = async (name: 'order' | 'inventory' | 'logistics'): Promise<string> => {
        const response = await fetch(`${ctx.cluster.services[name].url}/metrics`);
        expect(response.status).toBe(200);
        return response.text();
      };
      const texts = { order: await scrape('order'), inventory: await scrape('inventory'), logistics: await scrape('logistics') };
      // the order service's transactional messages, counted when committed (its instance since the last restart)
      expect(texts.order).toMatch(new RegExp(`^herald_messages_in_total\\{topic="${ORDER_EVENTS}",message_type="transaction"\\} [1-9]`, 'm'));
      expect(texts.inventory).toMatch(/^herald_messages_out_total\{topic="[^"]+",consumer_group="inventory",is_retry="false"\} [1-9]/m);
      expect(texts.order).toMatch(/^process_cpu_user_seconds_total /m);
      // three processes, one broker: the broker-state gauges come from exactly one of them, every scrape
      for (let round = 0; round < 2; round += 1) {
        const current = round === 0 ? texts : { order: await scrape('order'), inventory: await scrape('inventory'), logistics: await scrape('logistics') };
        const exporters = Object.entries(current).filter(([, text]) => /^herald_consumer_lag_messages\{/m.test(text));
        expect(exporters).toHaveLength(1);
      }
    } catch (error) {
      throw new Error(`${String(error)}\ndemo output:\n${ctx.output.join('\n')}`, { cause: error });
    } finally {
      await ctx.cluster.close();
      await dropCluster(adminUrl(), ctx.prefix);
    }
  }, 300_000);
});
