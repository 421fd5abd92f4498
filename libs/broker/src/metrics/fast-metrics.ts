/**
 * Counters and histograms for the hot path, registered on a prom-client registry as metric
 * objects of their own. prom-client's label children validate and hash their labels on every
 * `inc`/`observe` (measured: about 20 % of the drain rate); here a child holds its series
 * directly, so recording is an addition, and labels are formatted only at scrape time.
 */
type Labels<L extends string> = Record<L, string>;

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface Exported {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: ExportedValue[];
  aggregator: 'sum';
}

/** What a prom-client Registry needs of a metric (its registerMetric/metrics/getMetricsAsJSON use these). */
export interface RegistryLike {
  registerMetric(metric: never): void;
}

function keyOf(labels: Record<string, string>): string {
  return Object.values(labels).join('\u0000');
}

export class FastCounter<L extends string> {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, { labels: Labels<L>; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    registry: RegistryLike,
  ) {
    registry.registerMetric(this as never);
  }

  /** A handle on one label set; keep it, it records without any look-up. */
  labels(labels: Labels<L>): { inc(n?: number): void } {
    const key = keyOf(labels);
    let series = this.series.get(key);
    if (!series) {
      series = { labels: { ...labels }, value: 0 };
      this.series.set(key, series);
    }
    const target = series;
    return {
      inc(n = 1) {
        target.value += n;
      },
    };
  }

  get(): Promise<Exported> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value })),
    });
  }

  reset(): void {
    for (const series of this.series.values()) series.value = 0;
  }
}

export class FastHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, { labels: Labels<L>; counts: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    private readonly upperBounds: readonly number[],
    registry: RegistryLike,
  ) {
    registry.registerMetric(this as never);
  }

  labels(labels: Labels<L>): { observe(value: number): void } {
    const key = keyOf(labels);
    let series = this.series.get(key);
    if (!series) {
      series = { labels: { ...labels }, counts: this.upperBounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    const target = series;
    const bounds = this.upperBounds;
    return {
      observe(value: number) {
        if (!Number.isFinite(value)) return;
        target.sum += value;
        target.count += 1;
        for (let i = 0; i < bounds.length; i++) {
          if (value <= bounds[i]) {
            target.counts[i] += 1;
            return;
          }
        }
      },
    };
  }

  get(): Promise<Exported> {
    const values: ExportedValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.upperBounds.forEach((bound, i) => {
        cumulative += s.counts[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
