import type * as Prom from 'prom-client';
import { TIMED_OUT, within } from '../util/timeout';
import { DLQ_PREFIX, RETRY_PREFIX } from '../topic-name';
import type { BrokerState } from '../store/broker-state';
import type { FastCounter, FastHistogram } from './fast-metrics';
import { HeraldInstruments, MessageType, topicLabel } from './instruments';
import type { CheckBackOutcome, ConsumerRecorder, MetricsRecorder } from './metrics-recorder';

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
