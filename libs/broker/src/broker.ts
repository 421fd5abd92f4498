import { Pool } from 'pg';
import { Admin } from './admin/admin';
import type { BrokerContext } from './broker-context';
import { BrokerOptions, ResolvedBrokerOptions, resolveBrokerOptions } from './broker-options';
import { PushConsumer } from './consumer/push-consumer';
import type { PushConsumerOptions } from './consumer/push-consumer-options';
import { SimpleConsumer, SimpleConsumerOptions } from './consumer/simple-consumer';
import { IllegalStateError } from './errors/illegal-state.error';
import { toHeraldError } from './errors/store-errors';
import { errorText } from './logger';
import { FlushQueueSelector } from './producer/flush-queue-selector';
import { Producer, ProducerOptions } from './producer/producer';
import { TransactionProducer, TransactionProducerOptions } from './producer/transaction-producer';
import { DueMessageMover } from './scheduler/due-message-mover';
import { ThroughputSampler } from './scheduler/throughput-sampler';
import { RetentionRunner } from './scheduler/retention-runner';
import { migrate } from './store/migrator';
import { checkServerSettings } from './store/server-settings';
import { AppendedOffsets } from './producer/appended-offsets';
import { BrokerMetrics } from './metrics/broker-metrics';
import { instrumentsFor } from './metrics/instruments';
import type { ResolvedMetricsOptions } from './metrics/metrics-options';
import type { MetricsRecorder } from './metrics/metrics-recorder';
import { loadPromClient, PromClient } from './metrics/prom-client';
import { readBrokerState } from './store/broker-state';
import { loadOtelApi, OtelTracing, withTraceIds } from './tracing/otel-tracing';
import type { Tracing } from './tracing/tracing';
import { appendMessages, AppendResult, QueuedMessage } from './store/messages';
import { scheduleMessages } from './store/scheduled';
import { TopicRoutes } from './topic-routes';
import { ConnectionRole, connectionConfig } from './util/connection-config';
import { GroupCommit, GroupCommitLimits } from './util/group-commit';
import { channelNames } from './store/notifications';
import type { Channels } from './store/notifications';
import { NotificationListener } from './store/notification-listener';
import { PipelinedConnection } from './util/pipelined-connection';
import { trackResource, untrackResource } from './util/resources';
import { queueKey } from './util/keys';

interface Pools {
  consumer: Pool;
  producer: Pool;
  scheduler: Pool;
}

/** A broker's background jobs, for `backgroundJobs()` (through @herald/broker/internal) and nothing else. */
export interface BackgroundJobs {
  /** Moves due delayed messages and retries into their queues. */
  dueMessageMover: DueMessageMover;
  /** Deletes messages past the retention and old transaction outcomes. */
  retention: RetentionRunner;
  /** Records topic and group positions for admin.rates(). */
  throughputSampler: ThroughputSampler;
}

const BACKGROUND_JOBS = new WeakMap<Broker, BackgroundJobs>();

/** OpenTelemetry when tracing is on and @opentelemetry/api is installed (loaded once). */
function otelFor(options: ResolvedBrokerOptions): ReturnType<typeof loadOtelApi> {
  return options.tracing === null ? null : loadOtelApi();
}

function tracingFor(options: ResolvedBrokerOptions): Tracing | null {
  const otel = otelFor(options);
  return otel === null || options.tracing === null ? null : new OtelTracing(otel, options.tracing);
}
const RECORDERS = new WeakMap<Broker, MetricsRecorder>();

/** What a broker records its metrics with, for Herald's own packages (the Nest inbox); null when metrics are off. */
export function metricsRecorder(broker: Broker): MetricsRecorder | null {
  return RECORDERS.get(broker) ?? null;
}

/** A broker's background jobs, whose `runOnce()` tests drive by hand; not on the public Broker. */
export function backgroundJobs(broker: Broker): BackgroundJobs {
  const jobs = BACKGROUND_JOBS.get(broker);
  if (!jobs) throw new TypeError('not a Broker');
  return jobs;
}

/**
 * A connection to the Herald broker store. Create one per process with
 * `Broker.connect`, make producers and consumers from it, `close()` it on shutdown.
 */
export class Broker {
  readonly admin: Admin;
  private readonly dueMessageMover: DueMessageMover;
  private readonly retention: RetentionRunner;
  private readonly throughputSampler: ThroughputSampler;
  private readonly ctx: BrokerContext;
  private readonly consumers = new Set<PushConsumer>();
  private readonly transactionProducers = new Set<TransactionProducer>();
  private closing: Promise<void> | null = null;
  private readonly appendConnection: PipelinedConnection;

  private readonly brokerMetrics: BrokerMetrics | null;

  private constructor(
    /** The options in effect (defaults applied); read-only. */
    readonly options: Readonly<ResolvedBrokerOptions>,
    private readonly pools: Pools,
    private readonly listener: NotificationListener,
    channels: Channels,
    prom: PromClient | null,
  ) {
    const { consumer: pool, producer: producerPool, scheduler: schedulerPool } = pools;
    const routes = new TopicRoutes(pool, options.autoCreateTopics, options.defaultTopicQueues);
    const appendConnection = new PipelinedConnection(connectionConfig(options, 'producer'), options.logger);
    this.appendConnection = appendConnection;
    const queueSelector = new FlushQueueSelector();
    const appended = new AppendedOffsets();
    const metrics = prom !== null && options.metrics !== null ? this.createMetrics(prom, options.metrics, pool) : null;
    this.brokerMetrics = metrics;
    const limits: GroupCommitLimits<QueuedMessage> = {
      maxItems: options.maxBatchSize,
      maxBytes: options.maxFlushBytes,
      maxPendingItems: options.maxPendingSends,
      maxPendingBytes: options.maxPendingBytes,
      sizeOf: (m) => m.bytes,
      lanesOf: (m) => [queueKey(m.topic, m.queueId)],
    };
    this.ctx = {
      options,
      pool,
      producerPool,
      schedulerPool,
      listener,
      routes,
      sendLimits: limits,
      appender: new GroupCommit<QueuedMessage, AppendResult>(
        async (batch) => {
          queueSelector.assign(batch);
          const results = await appendMessages(appendConnection, batch);
          appended.record(batch, results);
          metrics?.appended(batch);
          return results;
        },
        limits,
        options.appendPipelineDepth,
      ),
      appended,
      delayedWriter: new GroupCommit<QueuedMessage, void>(async (batch) => {
        await scheduleMessages(producerPool, batch);
        metrics?.scheduled(batch);
        return batch.map(() => undefined);
      }, limits),
      channels,
      metrics,
      tracing: tracingFor(options),
      assertOpen: (operation) => {
        if (this.closing) throw new IllegalStateError('broker', 'closed', operation);
      },
    };
    this.admin = new Admin(this.ctx);
    this.dueMessageMover = new DueMessageMover(this.ctx);
    this.retention = new RetentionRunner(this.ctx);
    this.throughputSampler = new ThroughputSampler(this.ctx);
    BACKGROUND_JOBS.set(this, { dueMessageMover: this.dueMessageMover, retention: this.retention, throughputSampler: this.throughputSampler });
    if (metrics !== null) RECORDERS.set(this, metrics);
  }

  /**
   * Validates options, migrates the schema, opens the pools (created lazily, one per
   * role, so `pg_stat_activity` shows who is who) and the notification connection.
   */
  static async connect(options: BrokerOptions): Promise<Broker> {
    const given = resolveBrokerOptions(options);
    const otel = otelFor(given);
    // with OpenTelemetry, lines logged inside a span carry its trace_id and span_id
    const resolved = otel === null ? given : { ...given, logger: withTraceIds(otel, given.logger) };
    const prom = resolved.metrics !== null ? loadPromClient() : null;
    const pool = (role: ConnectionRole, max: number): Pool => {
      const created = new Pool({ ...connectionConfig(resolved, role), max });
      created.on('error', (error) => resolved.logger.log('warn', 'idle broker connection failed', { role, error: errorText(error) }));
      return created;
    };
    const pools: Pools = {
      consumer: pool('consumer', resolved.poolSize),
      producer: pool('producer', resolved.poolSize),
      // the due-message mover and the retention pass: one statement at a time each
      scheduler: pool('scheduler', 2),
    };
    const listener = new NotificationListener(connectionConfig(resolved, 'listener'), resolved.logger);
    const migration = new Pool({ ...connectionConfig(resolved, 'migrate'), max: 1 });
    let channels: Channels;
    try {
      await migrate(migration, resolved.schema);
      await checkServerSettings(migration, resolved.logger);
      channels = await channelNames(migration, resolved.schema);
      await listener.start();
    } catch (error) {
      await listener.close();
      await Promise.all([pools.consumer, pools.producer, pools.scheduler].map((p) => p.end()));
      throw toHeraldError('connect', error);
    } finally {
      await migration.end();
    }
    const broker = new Broker(resolved, pools, listener, channels, prom);
    trackResource(broker, `Broker(schema=${resolved.schema})`);
    if (resolved.runScheduler) broker.dueMessageMover.start();
    if (resolved.runRetention) broker.retention.start();
    if (resolved.runRetention && resolved.throughputSampleInterval > 0) broker.throughputSampler.start();
    return broker;
  }

  /**
   * The Prometheus text exposition of the metrics registry this broker records on (with
   * everything else registered there), for a `GET /metrics` handler; `metricsContentType`
   * is its Content-Type. Throws IllegalStateError when the broker was connected without `metrics`.
   */
  async metrics(): Promise<string> {
    return this.metricsOrThrow().registry.metrics();
  }

  get metricsContentType(): string {
    return this.metricsOrThrow().registry.contentType;
  }

  producer(options: ProducerOptions): Producer {
    this.ctx.assertOpen('create a producer');
    return new Producer(this.ctx, options);
  }

  /** Creates a push consumer; nothing is consumed until `start()`. */
  pushConsumer(options: PushConsumerOptions): PushConsumer {
    this.ctx.assertOpen('create a consumer');
    const consumer = new PushConsumer(this.ctx, options, (c) => this.consumers.delete(c));
    this.consumers.add(consumer);
    return consumer;
  }

  /** Creates a pull-model consumer (RocketMQ 5's SimpleConsumer): `receive`, `ack`, `changeInvisibleDuration`. */
  simpleConsumer(options: SimpleConsumerOptions): SimpleConsumer {
    this.ctx.assertOpen('create a consumer');
    return new SimpleConsumer(this.ctx, options);
  }

  /** Creates a transactional producer: `sendHalf`, `commit`, `rollback`; `start()` joins the group's check-backs. */
  transactionProducer(options: TransactionProducerOptions): TransactionProducer {
    this.ctx.assertOpen('create a producer');
    const producer = new TransactionProducer(this.ctx, options);
    this.transactionProducers.add(producer);
    return producer;
  }

  /** Shuts down this broker's consumers, waits for pending sends, and closes every connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.consumers].map((consumer) => consumer.shutdown()));
      await Promise.allSettled([...this.transactionProducers].map((producer) => producer.shutdown()));
      await this.ctx.appender.drain();
      await this.ctx.delayedWriter.drain();
      await this.dueMessageMover.stop();
      await this.retention.stop();
      await this.throughputSampler.stop();
      await this.appendConnection.close();
      this.brokerMetrics?.close();
      await this.listener.close();
      await Promise.all([this.pools.consumer, this.pools.producer, this.pools.scheduler].map((pool) => pool.end()));
      untrackResource(this);
    })();
    return this.closing;
  }

  private metricsOrThrow(): BrokerMetrics {
    if (this.brokerMetrics === null) throw new IllegalStateError('broker', 'connected without metrics', 'read metrics');
    return this.brokerMetrics;
  }

  private createMetrics(prom: PromClient, options: ResolvedMetricsOptions, pool: Pool): BrokerMetrics {
    const { instruments, registry } = instrumentsFor(prom, options);
    const metrics = new BrokerMetrics(
      instruments,
      registry,
      { mode: options.brokerState, cacheTtl: options.stateCacheTtl, timeout: options.stateTimeout },
      () => readBrokerState(pool),
      () => this.listener.holdLock(`herald.metrics.${this.options.schema}`),
      () => [...this.consumers].flatMap((consumer) => consumer.inflight()),
      (error) => this.options.logger.log('warn', 'broker-state metrics not read; the last reading stays', { error: errorText(error) }),
    );
    this.listener.onConnectionEvent = (event) => metrics.connectionEvent(event);
    return metrics;
  }
}
