import { Broker, errorText, IllegalStateError, TransactionChecker, TransactionProducer, TransactionResolution, MessageView } from '@herald/broker';
import type { ResolvedHeraldOptions } from './herald-module-options';
import { NestBrokerLogger } from './nest-broker-logger';
import type { ServiceStore } from './store/service-store';

/**
 * Answers check-backs from the transaction log with the barrier of ServiceStore.claimForCheck:
 * exact whatever the timing, because the local transaction and the check-back
 * compete for the same primary key. Per-topic overrides come first.
 */
export class TransactionLogChecker {
  constructor(
    private readonly store: ServiceStore,
    private readonly overrides: ReadonlyMap<string, TransactionChecker>,
    private readonly logger: NestBrokerLogger,
  ) {}

  async check(message: MessageView & { transactionId: string }): Promise<TransactionResolution> {
    const override = this.overrides.get(message.topic);
    if (override) return override(message);
    const state = await this.store.claimForCheck(message.transactionId, message.topic, message.msgId);
    const answer: TransactionResolution = state === null ? 'UNKNOWN' : state === 'COMMITTED' ? 'COMMIT' : 'ROLLBACK';
    this.logger.log('info', 'check-back answered', { transactionId: message.transactionId, topic: message.topic, msgId: message.msgId, answer });
    return answer;
  }
}

/**
 * One app's connection to the broker: the Broker, the transaction producer of its group,
 * the checker. Connected by HeraldExplorer once the app's handlers are validated, so a
 * refused handler leaves nothing open.
 */
export class HeraldRuntime {
  readonly logger = new NestBrokerLogger();
  readonly checker: TransactionLogChecker;
  private connection: { broker: Broker; producer: TransactionProducer } | null = null;

  constructor(readonly options: ResolvedHeraldOptions, readonly store: ServiceStore) {
    this.checker = new TransactionLogChecker(store, options.checkers, this.logger);
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

  /** Deletes expired log and inbox rows; never throws (retention is retried next time). */
  async cleanUp(): Promise<void> {
    try {
      let deleted: number;
      do {
        deleted = await this.store.deleteOlderThan(this.options.retention, 10_000);
      } while (deleted >= 10_000);
    } catch (error) {
      this.logger.log('warn', 'transaction log retention failed; will retry', { error: errorText(error) });
    }
  }

  private connected(): { broker: Broker; producer: TransactionProducer } {
    if (!this.connection) throw new IllegalStateError('Herald', 'not connected yet (HeraldModule connects during module init)', 'use the broker');
    return this.connection;
  }
}
