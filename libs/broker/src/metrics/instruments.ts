import type * as Prom from 'prom-client';
import { DLQ_PREFIX, RETRY_PREFIX } from '../topic-name';
import type { BrokerState } from '../store/broker-state';
import { FastCounter, FastHistogram } from './fast-metrics';
import type { ResolvedMetricsOptions } from './metrics-options';

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
