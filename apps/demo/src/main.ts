/**
 * `npm start`: the order / inventory / logistics sample with real processes, real
 * databases and real failures: normal flow, peak shaving, decoupling, retry persistence,
 * check-back, and a final consistency report (exit code 0 only if consistent).
 *
 *   npm start -- --orders 5000        size of the peak-shaving burst (default 2000)
 *   npm start -- --scenario peak      one part: normal, peak, decoupling, retry, checkback
 *   npm start -- --keep-running       leave the services up afterwards and print their URLs
 *   npm start -- --traces DIR         the services write their OpenTelemetry spans to DIR; the first order's trace is printed
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openDevPostgres } from '@herald/testing';
import { SampleApi } from './api';
import { Cluster } from './cluster';
import { checkBack, decoupling, DemoContext, finalReport, normalFlow, peakShaving, retryPersistence } from './scenarios';
import { DemoUi } from './ui';
import { ORDER_EVENTS } from '../../shared/src/contracts';
import { readSpans, traceTree } from './traces';

const SCENARIOS = ['normal', 'peak', 'decoupling', 'retry', 'checkback'] as const;
type Scenario = (typeof SCENARIOS)[number];

function options(): { orders: number; scenarios: Scenario[]; keepRunning: boolean; traces: string | undefined } {
  const { values } = parseArgs({
    options: {
      orders: { type: 'string', default: '2000' },
      scenario: { type: 'string' },
      'keep-running': { type: 'boolean', default: false },
      traces: { type: 'string' },
    },
  });
  if (values.traces === '') throw new Error('--traces needs a directory');
  const orders = Number(values.orders);
  if (!Number.isInteger(orders) || orders < 1 || orders > 1_000_000) throw new Error(`--orders must be an integer from 1 to 1000000, got ${values.orders}`);
  const scenario = values.scenario;
  if (scenario !== undefined && !SCENARIOS.includes(scenario as Scenario))
    throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')}, got ${scenario}`);
  const traces = values.traces === undefined ? undefined : resolve(values.traces);
  return { orders, scenarios: scenario ? [scenario as Scenario] : [...SCENARIOS], keepRunning: values['keep-running'] ?? false, traces };
}

async function main(): Promise<number> {
  const { orders, scenarios, keepRunning, traces } = options();
  const ui = new DemoUi();
  console.log('Herald sample: order / inventory / logistics, each with its own database, talking through the broker');
  const postgres = await openDevPostgres();
  ui.say(postgres.server ? `embedded PostgreSQL on 127.0.0.1:${postgres.server.port}` : 'PostgreSQL from DATABASE_URL');
  const cluster = await Cluster.start({ adminUrl: postgres.url, traceDir: traces });
  ui.say(
    `databases order, inventory, logistics, broker; services: order ${cluster.order.url}, inventory ${cluster.inventory.url}, logistics ${cluster.logistics.url}`,
  );
  const ctx: DemoContext = { cluster, api: new SampleApi(cluster), ui };
  let exitCode: number;
  try {
    for (const scenario of scenarios) {
      if (scenario === 'normal') await normalFlow(ctx);
      if (scenario === 'peak') await peakShaving(ctx, orders);
      if (scenario === 'decoupling') await decoupling(ctx);
      if (scenario === 'retry') await retryPersistence(ctx);
      if (scenario === 'checkback') await checkBack(ctx);
    }
    const report = await finalReport(ctx);
    exitCode = report.consistent ? 0 : 1;
    if (traces !== undefined) printFirstTrace(traces);
    if (keepRunning) {
      console.log('\nServices keep running (Ctrl-C to stop):');
      for (const service of Object.values(cluster.services)) console.log(`  ${service.name.padEnd(10)} ${service.url}`);
      console.log(
        `  try: curl -s -X POST ${cluster.order.url}/orders -H 'content-type: application/json' -d '{"customerId":"me","items":[{"sku":"apple","qty":1}]}'`,
      );
      console.log(`  admin: curl -s -X POST ${cluster.inventory.url}/admin/reconcile -H 'authorization: Bearer ${cluster.adminToken}'`);
      console.log(
        `  metrics (Prometheus text): ${Object.values(cluster.services)
          .map((service) => `${service.url}/metrics`)
          .join('  ')}`,
      );
      console.log('  dashboard and alert rules: observability/herald-dashboard.json, observability/herald-alerts.yml');
      console.log(`  console: ${cluster.order.url}/ops/herald/ (send Authorization: Bearer ${cluster.adminToken})`);
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    }
  } finally {
    await cluster.close();
    await postgres.close();
  }
  return exitCode;
}

/** The trace of the first order sent, as a tree: one request through the three services. */
function printFirstTrace(dir: string): void {
  const spans = readSpans(dir);
  const first = spans.filter((s) => s.name === `send_half ${ORDER_EVENTS}`).sort((a, b) => a.startMs - b.startMs)[0];
  console.log(`\nTraces: ${spans.length} spans in ${dir} (a JSON line per span, a file per process)`);
  if (first === undefined) return;
  const inTrace = spans.filter((s) => s.traceId === first.traceId);
  const services = [...new Set(inTrace.map((s) => s.service))].sort();
  console.log(`the first order's trace ${first.traceId}: ${inTrace.length} spans across ${services.join(', ')}`);
  for (const line of traceTree(spans, first.traceId)) console.log(`  ${line}`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
