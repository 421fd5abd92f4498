import type * as Prom from 'prom-client';
import { TIMED_OUT, within } from '../util/timeout';
import { FastCounter, FastHistogram } from './fast-metrics';
import { DLQ_PREFIX, RETRY_PREFIX } from '../topic-name';
import type { BrokerState } from '../store/broker-state';
import type { ResolvedMetricsOptions } from './metrics-options';
import type { CheckBackOutcome, ConsumerRecorder, MetricsRecorder } from './metrics-recorder';

/** `%RETRY%<group>` and `%DLQ%<group>` fold into one topic label each: a group never makes a label value. */
export function topicLabel(topic: string): string {
  if (topic.startsWith(RETRY_PREFIX)) return RETRY_PREFIX;
  if (topic.startsWith(DLQ_PREFIX)) return DLQ_PREFIX;
  return topic;
}

/** RocketMQ's message types (TopicMessageType), lower case as its metrics label them. */
export type MessageType = 'normal' | 'fifo' | 'delay' | 'transaction';

/** What one broker adds to the gauges of its registry: its store's state, its consumers' in-flight messages. */
export interface MetricsSource {
  /** The broker-state reading, or null when this broker does not export it. */
  brokerState(): Promise<BrokerState | null>;
  inflight(): Iterable<{ group: string; topic: string; count: number }>;
}

// RocketMQ's own buckets (rocketmq-clients HistogramEnum, broker finish_message_latency), ms
// where RocketMQ counts ms, so that its dashboards read Herald's figures as they are.
const SEND_BUCKETS = [1, 5, 10, 20, 50, 200, 500];
const AWAIT_BUCKETS = [1, 5, 20, 100, 1000, 5000, 10000];
const PROCESS_BUCKETS = [1, 5, 10, 100, 1000, 10000, 60000];
const FINISH_BUCKETS = [5, 60, 600, 3600, 43200, 86400];

/**
 * Herald's instruments on one prom-client registry, shared by every broker of the process
 * that uses it (so two brokers do not register a name twice): counters and histograms add
 * up, the gauges ask each live broker (MetricsSource) at scrape time. Names and labels
 * follow RocketMQ 5's broker metrics with the configured prefix; no msgId, key or client
 * id is ever a label.
 */
export class HeraldInstruments {
  readonly messagesIn: FastCounter<'topic' | 'message_type'>;
  readonly bytesIn: FastCounter<'topic' | 'message_type'>;
  readonly messagesOut: FastCounter<'topic' | 'consumer_group' | 'is_retry'>;
  readonly bytesOut: FastCounter<'topic' | 'consumer_group' | 'is_retry'>;
  readonly sendToDlq: FastCounter<'topic' | 'consumer_group'>;
  readonly commits: FastCounter<'topic' | 'producer_group'>;
  readonly rollbacks: FastCounter<'topic' | 'producer_group'>;
  readonly retries: FastCounter<'topic' | 'consumer_group'>;
  readonly checkBacks: FastCounter<'producer_group' | 'outcome'>;
  readonly rebalances: FastCounter<'consumer_group'>;
  readonly connectionEvents: FastCounter<'event'>;
  readonly inboxDuplicates: FastCounter<'consumer_group'>;
  readonly sendCostTime: FastHistogram<'topic' | 'invocation_status'>;
  readonly processTime: FastHistogram<'topic' | 'consumer_group' | 'invocation_status'>;
  readonly awaitTime: FastHistogram<'topic' | 'consumer_group'>;
  readonly finishLatency: FastHistogram<'topic' | 'producer_group'>;
  private readonly sources = new Set<MetricsSource>();

  constructor(prom: typeof Prom, registry: Prom.Registry, prefix: string) {
    const registers = [registry];
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): FastCounter<L> =>
      new FastCounter(prefix + name, help, labelNames, registry);
    const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): FastHistogram<L> =>
      new FastHistogram(prefix + name, help, labelNames, buckets, registry);
    const sources = this.sources;
    // Gauges read at scrape time; each collect asks every source, whose reading is cached.
    const stateGauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      fill: (gauge: Prom.Gauge<L>, state: BrokerState) => void,
    ): void => {
      new prom.Gauge({
        name: prefix + name,
        help,
        labelNames,
        registers,
        async collect(this: Prom.Gauge<L>) {
          this.reset();
          for (const source of sources) {
            const state = await source.brokerState();
            if (state !== null) fill(this, state);
          }
        },
      });
    };

    this.messagesIn = counter(
      'messages_in_total',
      'Messages stored by producers (normal and fifo when appended, delay when scheduled, transaction when committed); retries and dead letters are not counted.',
      ['topic', 'message_type'],
    );
    this.bytesIn = counter('throughput_in_total', 'Bytes of the messages counted by messages_in_total (body, tag, keys, group, properties).', [
      'topic',
      'message_type',
    ]);
    this.messagesOut = counter('messages_out_total', 'Messages handed to consumers (push handlers and simple-consumer receives).', [
      'topic',
      'consumer_group',
      'is_retry',
    ]);
    this.bytesOut = counter('throughput_out_total', 'Bytes of the messages counted by messages_out_total.', ['topic', 'consumer_group', 'is_retry']);
    this.sendToDlq = counter('send_to_dlq_messages_total', 'Messages moved to a dead-letter queue after their last retry.', ['topic', 'consumer_group']);
    this.commits = counter('commit_messages_total', 'Half messages committed (delivered).', ['topic', 'producer_group']);
    this.rollbacks = counter('rollback_messages_total', 'Half messages rolled back (discarded).', ['topic', 'producer_group']);
    this.retries = counter('consumer_retries_total', 'Deliveries that failed and were handed back for a retry (in place, or through %RETRY%).', [
      'topic',
      'consumer_group',
    ]);
    this.checkBacks = counter('check_backs_total', 'Check-backs asked of a transaction checker, by outcome.', ['producer_group', 'outcome']);
    this.rebalances = counter('consumer_rebalances_total', 'Rebalances in which a push consumer took queues.', ['consumer_group']);
    this.connectionEvents = counter('connection_events_total', "The broker's notification connection lost and back.", ['event']);
    this.inboxDuplicates = counter('inbox_duplicates_total', 'Deliveries a Nest listener skipped because its inbox had applied them already.', [
      'consumer_group',
    ]);
    this.sendCostTime = histogram(
      'send_cost_time',
      'Milliseconds from send() to the message being durable (RocketMQ client metric).',
      ['topic', 'invocation_status'],
      SEND_BUCKETS,
    );
    this.awaitTime = histogram(
      'await_time',
      'Milliseconds from a message being stored to its handler starting (RocketMQ client metric).',
      ['topic', 'consumer_group'],
      AWAIT_BUCKETS,
    );
    this.processTime = histogram(
      'process_time',
      'Milliseconds in a push handler, by invocation_status (success, failure) (RocketMQ client metric).',
      ['topic', 'consumer_group', 'invocation_status'],
      PROCESS_BUCKETS,
    );
    this.finishLatency = histogram(
      'finish_message_latency_seconds',
      'Seconds from a half message being stored to its commit.',
      ['topic', 'producer_group'],
      FINISH_BUCKETS,
    );

    const lagLabels = (l: BrokerState['lags'][number]) => ({ topic: l.topic, consumer_group: l.group, is_retry: String(l.topic === RETRY_PREFIX) });
    stateGauge('consumer_lag_messages', 'Messages stored after a group’s committed offset.', ['topic', 'consumer_group', 'is_retry'], (g, s) => {
      for (const l of s.lags) g.inc(lagLabels(l), l.lag);
    });
    stateGauge(
      'consumer_ready_messages',
      'Of the lag, messages no simple consumer of the group holds invisible.',
      ['topic', 'consumer_group', 'is_retry'],
      (g, s) => {
        for (const l of s.lags) g.inc(lagLabels(l), l.ready);
      },
    );
    stateGauge(
      'consumer_lag_latency_milliseconds',
      'Milliseconds since the oldest message a group has still to consume was stored.',
      ['topic', 'consumer_group', 'is_retry'],
      (g, s) => {
        for (const l of s.lags) g.set(lagLabels(l), Math.round(l.lagSeconds * 1000));
      },
    );
    stateGauge('half_messages', 'Open half messages, by state (pending, parked).', ['topic', 'producer_group', 'state'], (g, s) => {
      for (const h of s.halves) g.inc({ topic: h.topic, producer_group: h.producerGroup, state: h.state.toLowerCase() }, h.count);
    });
    stateGauge('consumer_connections', 'Live members of a push-consumer group (0: nobody consumes it).', ['consumer_group'], (g, s) => {
      for (const m of s.members) g.set({ consumer_group: m.group }, m.count);
    });
    stateGauge('dlq_messages', 'Messages in a group’s dead-letter queue.', ['consumer_group'], (g, s) => {
      for (const d of s.deadLetters) g.inc({ consumer_group: d.group }, d.count);
    });
    new prom.Gauge({
      name: prefix + 'consumer_inflight_messages',
      help: "Messages this process's push consumers have pulled and not finished.",
      labelNames: ['topic', 'consumer_group'],
      registers,
      collect(this: Prom.Gauge<'topic' | 'consumer_group'>): void {
        this.reset();
        for (const source of sources) {
          for (const { group, topic, count } of source.inflight()) this.inc({ topic: topicLabel(topic), consumer_group: group }, count);
        }
      },
    });
  }

  attach(source: MetricsSource): () => void {
    this.sources.add(source);
    return () => this.sources.delete(source);
  }
}

const byRegistry = new WeakMap<object, Map<string, HeraldInstruments>>();

/** The instruments of `registry` under `prefix`, created on first use. */
export function instrumentsFor(prom: typeof Prom, options: ResolvedMetricsOptions): { instruments: HeraldInstruments; registry: Prom.Registry } {
  const registry = (options.registry as Prom.Registry | null) ?? prom.register;
  let perPrefix = byRegistry.get(registry);
  if (!perPrefix) {
    perPrefix = new Map();
    byRegistry.set(registry, perPrefix);
  }
  let instruments = perPrefix.get(options.prefix);
  if (!instruments) {
    instruments = new HeraldInstruments(prom, registry, options.prefix);
    perPrefix.set(options.prefix, instruments);
  }
  return { instruments, registry };
}

/** Times a broker-state reading may take and be reused (see MetricsOptions). */
interface StateReadingOptions {
  mode: 'auto' | boolean;
  cacheTtl: number;
  timeout: number;
}

/**
 * One broker's side of its registry's instruments: what its producers, consumers and
 * check-backs record, and the gauges' source. Label children are cached per label set, so
 * the hot path does one map look-up per flush or message, never a label-object hash.
 */
export class BrokerMetrics implements MetricsRecorder {
  private readonly children = new Map<string, { inc(n?: number): void }>();
  private readonly histograms = new Map<string, { observe(value: number): void }>();
  private readonly consumers = new Map<string, Map<string, ConsumerRecorder>>();
  private reading: { at: number; state: Promise<BrokerState | null> } | null = null;
  private lastState: BrokerState | null = null;
  private readonly detach: () => void;

  constructor(
    readonly instruments: HeraldInstruments,
    readonly registry: Prom.Registry,
    private readonly state: StateReadingOptions,
    private readonly readState: () => Promise<BrokerState>,
    /** Whether this instance holds the metrics lock ('auto' mode). */
    private readonly holdsLock: () => Promise<boolean>,
    inflight: () => Iterable<{ group: string; topic: string; count: number }>,
    private readonly onStateError: (error: unknown) => void,
  ) {
    this.detach = instruments.attach({ brokerState: () => this.brokerState(), inflight });
  }

  close(): void {
    this.detach();
  }

  /** A group commit stored `batch` in its queues (user topics only: retries and dead letters are counted apart). */
  appended(batch: readonly { topic: string; messageGroup: string | null; bytes: number }[]): void {
    this.countIn(batch, (m) => (m.messageGroup !== null ? 'fifo' : 'normal'));
  }

  /** Delayed messages went to the schedule. */
  scheduled(batch: readonly { topic: string; messageGroup: string | null; bytes: number; reconsumeTimes: number }[]): void {
    this.countIn(
      batch.filter((m) => m.reconsumeTimes === 0),
      () => 'delay',
    );
  }

  sent(topic: string, startedAt: number, ok: boolean): void {
    this.histogram(this.instruments.sendCostTime, `send\u0000${topic}\u0000${ok}`, {
      topic: topicLabel(topic),
      invocation_status: ok ? 'success' : 'failure',
    }).observe(performance.now() - startedAt);
  }

  resolved(
    producerGroup: string,
    outcome: 'COMMIT' | 'ROLLBACK',
    results: readonly { status: string; topic: string | null; halfAgeMs: number | null }[],
  ): void {
    const counter = outcome === 'COMMIT' ? this.instruments.commits : this.instruments.rollbacks;
    for (const r of results) {
      if (r.status !== 'DONE' || r.topic === null) continue;
      const topic = topicLabel(r.topic);
      this.counter(counter, `${outcome}\u0000${topic}\u0000${producerGroup}`, { topic, producer_group: producerGroup }).inc();
      if (outcome === 'COMMIT') {
        this.counter(this.instruments.messagesIn, `in\u0000${topic}\u0000transaction`, { topic, message_type: 'transaction' }).inc();
        if (r.halfAgeMs !== null) {
          this.histogram(this.instruments.finishLatency, `finish\u0000${topic}\u0000${producerGroup}`, { topic, producer_group: producerGroup }).observe(
            r.halfAgeMs / 1000,
          );
        }
      }
    }
  }

  /** A push handler is about to run `message` (or a simple consumer received it). */
  /** The children a consumer touches per message, resolved once per group and topic. */
  consumer(group: string, topic: string): ConsumerRecorder {
    let perTopic = this.consumers.get(group);
    if (!perTopic) {
      perTopic = new Map();
      this.consumers.set(group, perTopic);
    }
    let recorder = perTopic.get(topic);
    if (!recorder) {
      recorder = this.newConsumerRecorder(group, topic);
      perTopic.set(topic, recorder);
    }
    return recorder;
  }

  private newConsumerRecorder(group: string, topic: string): ConsumerRecorder {
    const label = topicLabel(topic);
    const { messagesOut, bytesOut, awaitTime, processTime } = this.instruments;
    const out = (retry: boolean) => {
      const labels = { topic: label, consumer_group: group, is_retry: String(retry) };
      return { messages: messagesOut.labels(labels), bytes: bytesOut.labels(labels) };
    };
    const first = out(false);
    const retried = out(true);
    const awaited = awaitTime.labels({ topic: label, consumer_group: group });
    const success = processTime.labels({ topic: label, consumer_group: group, invocation_status: 'success' });
    const failure = processTime.labels({ topic: label, consumer_group: group, invocation_status: 'failure' });
    return {
      delivered(message, waited) {
        const o = message.reconsumeTimes > 0 ? retried : first;
        o.messages.inc();
        o.bytes.inc(message.body.length);
        if (waited) awaited.observe(Math.max(0, Date.now() - message.storedAt.getTime()));
      },
      processed(startedAt, ok) {
        (ok ? success : failure).observe(performance.now() - startedAt);
      },
    };
  }

  retried(group: string, topic: string): void {
    const label = topicLabel(topic);
    this.counter(this.instruments.retries, `retry\u0000${label}\u0000${group}`, { topic: label, consumer_group: group }).inc();
  }

  deadLettered(group: string, topic: string): void {
    const label = topicLabel(topic);
    this.counter(this.instruments.sendToDlq, `dlq\u0000${label}\u0000${group}`, { topic: label, consumer_group: group }).inc();
  }

  checkedBack(producerGroup: string, outcome: CheckBackOutcome): void {
    this.counter(this.instruments.checkBacks, `check\u0000${producerGroup}\u0000${outcome}`, { producer_group: producerGroup, outcome }).inc();
  }

  rebalanced(group: string): void {
    this.counter(this.instruments.rebalances, `rebalance\u0000${group}`, { consumer_group: group }).inc();
  }

  connectionEvent(event: 'lost' | 'reconnected'): void {
    this.counter(this.instruments.connectionEvents, `conn\u0000${event}`, { event }).inc();
  }

  inboxDuplicate(group: string): void {
    this.counter(this.instruments.inboxDuplicates, `dup\u0000${group}`, { consumer_group: group }).inc();
  }

  private countIn<M extends { topic: string; bytes: number }>(batch: readonly M[], typeOf: (m: M) => MessageType): void {
    // a flush is mostly runs of one topic and type: one counter update per run
    let key = '';
    let count = 0;
    let bytes = 0;
    let labels: { topic: string; message_type: MessageType } | null = null;
    const flush = (): void => {
      if (labels === null || count === 0) return;
      this.counter(this.instruments.messagesIn, `in\u0000${key}`, labels).inc(count);
      this.counter(this.instruments.bytesIn, `inb\u0000${key}`, labels).inc(bytes);
    };
    for (const m of batch) {
      if (m.topic.startsWith(RETRY_PREFIX) || m.topic.startsWith(DLQ_PREFIX)) continue;
      const type = typeOf(m);
      const next = `${m.topic}\u0000${type}`;
      if (next !== key) {
        flush();
        key = next;
        labels = { topic: m.topic, message_type: type };
        count = 0;
        bytes = 0;
      }
      count += 1;
      bytes += m.bytes;
    }
    flush();
  }

  private counter<L extends string>(counter: FastCounter<L>, key: string, labels: Record<L, string>): { inc(n?: number): void } {
    let child = this.children.get(key);
    if (!child) {
      child = counter.labels(labels);
      this.children.set(key, child);
    }
    return child;
  }

  private histogram<L extends string>(histogram: FastHistogram<L>, key: string, labels: Record<L, string>): { observe(value: number): void } {
    let child = this.histograms.get(key);
    if (!child) {
      child = histogram.labels(labels);
      this.histograms.set(key, child);
    }
    return child;
  }

  /** The cached reading, a new one when it is older than the TTL; null when this instance does not export broker state. */
  private brokerState(): Promise<BrokerState | null> {
    const now = performance.now();
    if (this.reading && now - this.reading.at < this.state.cacheTtl) return this.reading.state;
    const state = this.freshState();
    this.reading = { at: now, state };
    return state;
  }

  private async freshState(): Promise<BrokerState | null> {
    const { mode, timeout } = this.state;
    try {
      if (mode === false) return null;
      if (mode === 'auto' && !(await this.holdsLock())) return null;
      const state = await within(this.readState(), timeout);
      if (state === TIMED_OUT) throw new Error(`no broker-state reading within ${timeout} ms`);
      this.lastState = state;
      return state;
    } catch (error) {
      this.onStateError(error);
      // a scrape gets the last good reading rather than gauges that vanish and come back
      return this.lastState;
    }
  }
}
