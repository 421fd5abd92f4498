import { Pool } from 'pg';
import { Registry } from 'prom-client';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResult, ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { BatchSpanProcessor, ReadableSpan, SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { Broker, BrokerOptions, ConsoleLogger, Producer, PushConsumer, TransactionProducer } from '@herald/broker';
import { DECORATED_TOPIC, openDecoratedPath } from './herald-nest';
import { BenchMessage, BrokerDatabase, encode, QueueSystem } from './system';

export type HeraldVariant = 'plain' | 'metrics' | 'tracing';

/** What the spans cost to make and hand to an exporter; none is sent anywhere. */
class DroppingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

/**
 * An SDK for the tracing variant's broker only (its own provider, so the plain system in the
 * same run records nothing). Propagator and context manager are global, as an app's SDK
 * registers them; without a recording span the plain system never uses either.
 */
function sdkWithDroppingExporter(): TracerProvider {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  // a queue deep enough that the sends' spans are exported, not dropped, at full rate
  const exporter = new DroppingExporter();
  return new TracerProvider({
    spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: 65_536, maxExportBatchSize: 4_096, scheduledDelayMillis: 500 })],
  });
}

/** Herald: group-committed sends, one push consumer (32 handlers, 256-message pulls). */
export class HeraldSystem implements QueueSystem {
  readonly name: string;
  readonly settings: string;
  private topic = '';
  private producer!: Producer;
  private consumer: PushConsumer | null = null;
  private readonly tx: TransactionProducer;

  private constructor(
    readonly brokerDatabase: BrokerDatabase,
    private readonly broker: Broker,
    /** The "service's own database" of the transactional scenario: a separate database. */
    private readonly local: Pool,
    private readonly decorated: { send: (m: BenchMessage) => Promise<void>; close: () => Promise<void> },
    variant: HeraldVariant,
    /** With metrics on: the scraper reading them every second, as Prometheus would. */
    private readonly scraper: NodeJS.Timeout | null,
    /** With tracing on: the SDK's provider, shut down on close. */
    private readonly tracerProvider: TracerProvider | null,
  ) {
    this.tx = broker.transactionProducer({ group: 'bench-tx', checker: () => 'UNKNOWN' });
    this.name = { plain: 'Herald', metrics: 'Herald, metrics', tracing: 'Herald, tracing' }[variant];
    this.settings =
      'topic with 8 queues; producer.send / sendBatch; pushConsumer concurrency 32, pullBatchSize 256' +
      {
        plain: '',
        metrics: '; metrics on (own registry, broker state exported), broker.metrics() scraped every second',
        tracing:
          '; tracing on: OpenTelemetry SDK 3 (every span sampled, BatchSpanProcessor, an exporter that drops them), W3C propagator, AsyncLocalStorage context',
      }[variant];
  }

  /** `metrics` and `tracing` are the plain system with one of them on, to measure what it costs (`--only herald,herald-tracing`). */
  static async open(url: string, localUrl: string, variant: HeraldVariant = 'plain'): Promise<HeraldSystem> {
    const tracerProvider = variant === 'tracing' ? sdkWithDroppingExporter() : null;
    const observability: Partial<BrokerOptions> =
      variant === 'metrics' ? { metrics: { registry: new Registry(), brokerState: true } } : tracerProvider !== null ? { tracing: { tracerProvider } } : {};
    const broker = await Broker.connect({ connectionString: url, poolSize: 20, logger: new ConsoleLogger('error'), ...observability });
    const scraper =
      variant === 'metrics'
        ? setInterval(() => {
            broker.metrics().catch(() => undefined);
          }, 1_000)
        : null;
    const local = new Pool({ connectionString: localUrl, max: 32 });
    local.on('error', () => undefined);
    await local.query('CREATE TABLE IF NOT EXISTS orders (transaction_id text PRIMARY KEY, seq int NOT NULL)');
    const decorated = await openDecoratedPath(url, localUrl, observability);
    return new HeraldSystem({ url, schema: broker.options.schema }, broker, local, decorated, variant, scraper, tracerProvider);
  }

  /** sendHalf, then a local transaction that records the order, then commit. */
  async sendTransactional(message: BenchMessage): Promise<void> {
    const half = await this.tx.sendHalf({ topic: this.topic, body: encode(message) });
    const client = await this.local.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO orders (transaction_id, seq) VALUES ($1, $2)', [half.transactionId, message.seq]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await this.tx.commit(half.transactionId);
  }

  /** The NestJS path: a @TransactionalMessage method writing one row (see herald-nest.ts). */
  sendDecorated(message: BenchMessage): Promise<void> {
    return this.decorated.send(message);
  }

  async prepare(run: string): Promise<void> {
    this.topic = `bench-${run}`;
    await this.broker.admin.createTopic(this.topic, { queues: 8 });
    this.producer = this.broker.producer({ group: 'bench' });
  }

  async sendOne(message: BenchMessage): Promise<void> {
    await this.producer.send({ topic: this.topic, body: encode(message) });
  }

  async sendBatch(messages: BenchMessage[]): Promise<void> {
    await this.producer.sendBatch(messages.map((m) => ({ topic: this.topic, body: encode(m) })));
  }

  async startWorker(onMessage: (message: BenchMessage) => void): Promise<void> {
    this.consumer = this.broker.pushConsumer({
      group: `bench-${this.topic}`,
      subscriptions: { [this.topic]: '*' },
      consumeFromWhere: 'FIRST_OFFSET',
      concurrency: 32,
      pullBatchSize: 256,
      handler: (m) => onMessage(JSON.parse(m.body.toString()) as BenchMessage),
    });
    await this.consumer.start();
  }

  async stopWorker(): Promise<void> {
    await this.consumer?.shutdown();
    this.consumer = null;
  }

  async cleanUp(): Promise<void> {
    await this.broker.admin.deleteTopic(this.topic);
  }

  async close(): Promise<void> {
    if (this.scraper !== null) clearInterval(this.scraper);
    await this.tracerProvider?.shutdown();
    await this.decorated.close();
    await this.broker.admin.deleteTopic(DECORATED_TOPIC).catch(() => false);
    await this.broker.close();
    await this.local.end();
  }
}
