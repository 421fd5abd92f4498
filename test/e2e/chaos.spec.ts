import { basket } from '../../apps/demo/src/scenarios';
import { finalReport } from '../../apps/demo/src/scenarios';
import type { ServiceName } from '../../apps/demo/src/service-process';
import { sleep } from '../../apps/demo/src/ui';
import { PrivatePostgres } from '../support/private-postgres';
import { waitFor } from '../support/wait-for';
import { dropCluster, startCluster } from './cluster-harness';

const ORDERS = 1_000;
const SERVICES: ServiceName[] = ['order', 'inventory', 'logistics'];

/** A small seeded generator, so a failing run can be replayed with CHAOS_SEED. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('chaos', () => {
  it(`${ORDERS} orders while every service is SIGKILLed in turn (random order and timing) and PostgreSQL restarts: nothing lost, no phantoms, nothing applied twice`, async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const rand = random(seed);
    const postgres = await PrivatePostgres.start();
    const ctx = await startCluster(postgres.url, { listenerConcurrency: 4 });
    const { cluster, api } = ctx;
    const kills: Record<ServiceName, number> = { order: 0, inventory: 0, logistics: 0 };
    let accepted = 0;
    let refused = 0;
    let placing = true;
    const started = Date.now();
    try {
      // a start fails while PostgreSQL is restarting: try again until it is up
      const restart = (name: ServiceName): Promise<boolean> =>
        waitFor(() => cluster.services[name].start().then(() => true, () => false), { timeoutMs: 120_000, intervalMs: 500, what: `${name} to start again` });
      const victims: ServiceName[] = [];
      const chaos = (async () => {
        let pgRestarted = false;
        while (placing) {
          await sleep(1_500 + rand() * 2_000);
          if (!placing) break;
          if (!pgRestarted && accepted > ORDERS / 3) {
            pgRestarted = true;
            await postgres.crashAndRestart();
            continue;
          }
          // every service in turn, in a shuffled order each round
          if (victims.length === 0) victims.push(...[...SERVICES].sort(() => rand() - 0.5));
          const victim = victims.shift()!;
          kills[victim] += 1;
          await cluster.services[victim].kill();
          await restart(victim);
        }
        return pgRestarted;
      })();
      // ~40 orders/s from 8 customers' callers, so the faults land all through the run
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (accepted < ORDERS) {
            next += 1;
            try {
              await api.createOrder(`chaos-${next % 50}`, basket(next));
              accepted += 1;
              await sleep(200); // load pacing, not synchronisation: ~40 orders/s in all
            } catch {
              refused += 1; // service down or PostgreSQL restarting: maybe committed, maybe not; the report checks both
              await sleep(100); // back off before the next attempt
            }
          }
        }),
      );
      placing = false;
      const pgRestarted = await chaos;
      for (const name of SERVICES) await restart(name);
      const report = await finalReport(ctx);
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      console.log(
        `chaos (seed ${seed}): ${accepted} orders accepted, ${refused} requests failed during faults, ${report.orders} orders committed; ` +
          `SIGKILLs order ${kills.order}, inventory ${kills.inventory}, logistics ${kills.logistics}; PostgreSQL restarts ${pgRestarted ? 1 : 0}; ` +
          `lost ${report.lost}, phantom ${report.phantom}, duplicated ${report.duplicated}, pending ${report.pending}, inconsistent ${report.inconsistent}; ${seconds} s`,
      );
      expect(pgRestarted).toBe(true);
      expect(kills.order + kills.inventory + kills.logistics).toBeGreaterThanOrEqual(5);
      for (const name of SERVICES) expect(kills[name]).toBeGreaterThanOrEqual(1);
      expect(report.orders).toBeGreaterThanOrEqual(ORDERS);
      expect(report).toMatchObject({ lost: 0, phantom: 0, duplicated: 0, pending: 0, inconsistent: 0, consistent: true });
    } catch (error) {
      throw new Error(`${String(error)}\nseed ${seed}; demo output:\n${ctx.output.join('\n')}`);
    } finally {
      placing = false;
      await cluster.close();
      await dropCluster(postgres.url, ctx.prefix).catch(() => undefined);
      await postgres.stop();
    }
  }, 480_000);
});
