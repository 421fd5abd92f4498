import { Broker, IllegalStateError, TransactionProducer } from '@herald/broker';
import { errorText } from '@herald/broker/internal';
import { TransactionLogChecker } from '../check-back/transaction-log.checker';
import type { ResolvedHeraldOptions } from '../herald-module-options';
import { LocalRetention } from '../retention/local-retention';
import { NestBrokerLogger } from '../nest-broker-logger';
import type { ServiceStore } from '../store/service-store';

/**
 * One app's connection to the broker: the Broker, the transaction producer of its group,
 * the checker. Connected by HeraldExplorer once the app's handlers are validated, so a
 * refused handler leaves nothing open.
 */
export class HeraldRuntime {
  readonly logger = new NestBrokerLogger();
  readonly checker: TransactionLogChecker;
  private readonly retention: LocalRetention;
  private connection: { broker: Broker; producer: TransactionProducer } | null = null;

  constructor(
    readonly options: ResolvedHeraldOptions,
    readonly store: ServiceStore,
  ) {
    this.checker = new TransactionLogChecker(store, options.checkers, this.logger);
    this.retention = new LocalRetention(store, () => this.broker, { log: options.retention, inbox: options.inboxRetention }, this.logger);
  }

  get broker(): Broker {
    return this.connected().broker;
  }

  get producer(): TransactionProducer {
    return this.connected().producer;
  }

  /** Migrates the service's tables, connects to the broker and creates missing `topics` (with `createTopics`); once. */
  async connect(topics: string[]): Promise<void> {
    if (this.connection) return;
    await this.store.migrate();
    await this.store.initHorizons(this.options.retention, this.options.inboxRetention);
    const broker = await Broker.connect({ logger: this.logger, ...this.options.broker });
    if (this.options.createTopics) {
      try {
        const existing = new Set((await broker.admin.listTopics()).map((topic) => topic.name));
        for (const topic of new Set(topics)) {
          if (!existing.has(topic)) await broker.admin.createTopic(topic, { queues: this.options.broker.defaultTopicQueues });
        }
      } catch (error) {
        await broker.close();
        throw error;
      }
    }
    const producer = broker.transactionProducer({
      group: this.options.producerGroup,
      checker: (message) => this.checker.check(message),
      transactionTimeout: this.options.transactionTimeout,
      checkInterval: this.options.checkInterval,
      maxChecks: this.options.maxChecks,
    });
    this.connection = { broker, producer };
  }

  /** Closes the producer and the broker (waiting for pending sends). */
  async close(): Promise<void> {
    const connection = this.connection;
    if (!connection) return;
    await connection.producer.shutdown();
    await connection.broker.close();
  }

  /**
   * Deletes expired log and inbox rows the broker can no longer ask about or deliver (see
   * LocalRetention); never throws (retention is retried next time). Runs every
   * `retentionCheckInterval`; tests and scripts may call it.
   */
  async cleanUp(): Promise<void> {
    try {
      await this.retention.runOnce();
    } catch (error) {
      this.logger.log('warn', 'transaction log and inbox retention failed; nothing more deleted this pass, will retry', { error: errorText(error) });
    }
  }

  private connected(): { broker: Broker; producer: TransactionProducer } {
    if (!this.connection) throw new IllegalStateError('Herald', 'not connected yet (HeraldModule connects during module init)', 'use the broker');
    return this.connection;
  }
}
