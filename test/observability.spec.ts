import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { Broker, ConsoleLogger } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';

/**
 * The dashboard, the alert rules and the README's metric table ship with Herald: each
 * metric they use must exist, with the labels they use, and the README must list them all.
 */
const ROOT = join(__dirname, '..');
const db = useTestDatabase();

interface Dashboard {
  panels: { title: string; targets: { expr: string; legendFormat?: string }[] }[];
}
interface Rules {
  groups: { rules: { alert: string; expr: string; annotations?: Record<string, string> }[] }[];
}

const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

/** Metric selectors of a PromQL expression, with the labels their matchers use. */
function selectors(expr: string): { metric: string; labels: string[] }[] {
  return [...expr.matchAll(/\b(herald_[a-z_]+)(\{([^}]*)\})?/g)].map((m) => ({
    metric: m[1],
    labels: [...(m[3] ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)/g)].map((l) => l[1]),
  }));
}

/** Labels an expression groups or joins by (`by (...)`, `on (...)`) and a legend or annotation prints. */
function usedLabels(expr: string, templates: string[]): string[] {
  const lists = [...expr.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((l) => l.trim()));
  const printed = templates.flatMap((t) => [...t.matchAll(/\{\{\s*\$?(?:labels\.)?(\w+)\s*\}\}/g)].map((m) => m[1]));
  return [...lists, ...printed].filter((l) => l.length > 0 && l !== 'le' && l !== 'value');
}

describe('shipped observability files', () => {
  const registry = new Registry();
  beforeAll(async () => {
    // connecting registers Herald's metrics on the registry; they stay there after close
    const broker = await Broker.connect({ connectionString: db.url, logger: new ConsoleLogger('error'), metrics: { registry, brokerState: false } });
    await broker.close();
  });

  function labelsOf(name: string): string[] | null {
    const metric = registry.getSingleMetric(name.replace(HISTOGRAM_SUFFIX, '')) ?? registry.getSingleMetric(name);
    if (!metric) return null;
    return (metric as unknown as { labelNames: string[] }).labelNames;
  }

  function check(where: string, expr: string, templates: string[]): string[] {
    const problems: string[] = [];
    const found = selectors(expr);
    if (found.length === 0) problems.push(`${where}: no herald_ metric in ${expr}`);
    const available = new Set<string>();
    for (const { metric, labels } of found) {
      const known = labelsOf(metric);
      if (known === null) {
        problems.push(`${where}: ${metric} does not exist`);
        continue;
      }
      for (const l of known) available.add(l);
      for (const l of labels) if (!known.includes(l)) problems.push(`${where}: ${metric} has no label ${l}`);
    }
    for (const l of usedLabels(expr, templates)) if (!available.has(l)) problems.push(`${where}: no metric of the expression has the label ${l}`);
    return problems;
  }

  it('every metric and label the Grafana dashboard queries exists', () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'observability/herald-dashboard.json'), 'utf8')) as Dashboard;
    const targets = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel "${p.title}"`, ...t })));
    expect(targets.length).toBeGreaterThan(10);
    expect(targets.flatMap((t) => check(t.where, t.expr, t.legendFormat ? [t.legendFormat] : []))).toEqual([]);
  });

  it('every metric and label the alert rules use exists, and the five alerts the issue asks for are there', () => {
    const rules = parse(readFileSync(join(ROOT, 'observability/herald-alerts.yml'), 'utf8')) as Rules;
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.alert).sort()).toEqual(
      ['HeraldCheckBackErrors', 'HeraldConsumerGroupWithoutMember', 'HeraldConsumerLagGrowing', 'HeraldDeadLettersGrowing', 'HeraldParkedHalfMessages'].sort(),
    );
    expect(all.flatMap((r) => check(`alert ${r.alert}`, r.expr, Object.values(r.annotations ?? {})))).toEqual([]);
  });

  it("the README's metric table lists exactly the metrics Herald registers", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Observability'), readme.indexOf('## Limits and guarantees'));
    const listed = new Set([...section.matchAll(/^\| `(herald_[a-z_]+)`(?:, `(herald_[a-z_]+)`)? \|/gm)].flatMap((m) => [m[1], m[2]].filter(Boolean)));
    const registered = new Set(registry.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name));
    expect([...listed].sort()).toEqual([...registered].sort());
  });

  it('the checks catch a metric or a label that does not exist (so an empty list means something)', () => {
    expect(check('probe', 'sum by (consumer_group) (herald_no_such_metric)', [])).toEqual([
      'probe: herald_no_such_metric does not exist',
      'probe: no metric of the expression has the label consumer_group',
    ]);
    expect(check('probe', 'herald_dlq_messages{topic="t"}', ['{{consumer_group}}'])).toEqual(['probe: herald_dlq_messages has no label topic']);
  });
});
