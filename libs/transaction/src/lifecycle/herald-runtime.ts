import { Broker, IllegalStateError, TransactionProducer } from '@herald/broker';
import type { TransactionLogChecker } from '../check-back/transaction-log.checker';
import type { ResolvedHeraldOptions } from '../herald-module-options';
import type { NestBrokerLogger } from '../nest-broker-logger';
import type { LocalRetention } from '../retention/local-retention';

/**
 * One app's connection to the broker: the Broker and the transaction producer of its group,
 * whose check-backs TransactionLogChecker answers. HeraldLifecycle connects it once the app's
 * handlers are validated, so a refused handler leaves nothing open, and closes it last.
 */
export class HeraldRuntime {
  private connection: { broker: Broker; producer: TransactionProducer } | null = null;

  /** @internal HeraldModule builds it */
  constructor(
    private readonly options: ResolvedHeraldOptions,
    private readonly checker: TransactionLogChecker,
    private readonly retention: LocalRetention,
    private readonly logger: NestBrokerLogger,
  ) {}

  get broker(): Broker {
    return this.connected().broker;
  }

  get producer(): TransactionProducer {
    return this.connected().producer;
  }

  /** Connects to the broker and creates missing `topics` (with `createTopics`); once. */
  async connect(topics: string[]): Promise<void> {
    if (this.connection) return;
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
   * A retention pass now: deletes expired log and inbox rows the broker can no longer ask about
   * or deliver (see LocalRetention, which also runs one at startup and every
   * `retentionCheckInterval`); never throws (the next pass tries again). For tests and scripts.
   */
  async cleanUp(): Promise<void> {
    await this.retention.runPass(() => this.broker);
  }

  private connected(): { broker: Broker; producer: TransactionProducer } {
    if (!this.connection) throw new IllegalStateError('Herald', 'not connected yet (HeraldModule connects during module init)', 'use the broker');
    return this.connection;
  }
}
