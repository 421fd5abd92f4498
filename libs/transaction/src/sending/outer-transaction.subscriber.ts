import { Inject, Injectable } from '@nestjs/common';
import type { HalfReceipt } from '@herald/broker';
import { errorText } from '@herald/broker/internal';
import type { DataSource, EntitySubscriberInterface, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';
import { HERALD_DATA_SOURCE, HERALD_OPTIONS } from '../herald.constants';
import type { ResolvedHeraldOptions } from '../herald-module-options';
import { HeraldRuntime } from '../lifecycle/herald-runtime';
import { NestBrokerLogger } from '../nest-broker-logger';
import { ServiceStore } from '../store/service-store';

/** A half stored by a @TransactionalMessage method that joined the caller's own transaction. */
export type JoinedHalf = HalfReceipt & { topic: string };

/**
 * Resolves the halves of @TransactionalMessage methods that joined a caller's own
 * (outer) transaction when that transaction ends, through TypeORM's transaction events.
 */
@Injectable()
export class OuterTransactionSubscriber implements EntitySubscriberInterface {
  private readonly joined = new WeakMap<QueryRunner, JoinedHalf[]>();

  constructor(
    @Inject(HERALD_OPTIONS) private readonly options: ResolvedHeraldOptions,
    private readonly runtime: HeraldRuntime,
    private readonly store: ServiceStore,
    private readonly logger: NestBrokerLogger,
    @Inject(HERALD_DATA_SOURCE) private readonly dataSource: DataSource,
  ) {}

  /** Subscribes to the DataSource's transaction events; once. */
  subscribe(): void {
    if (!this.dataSource.subscribers.includes(this)) this.dataSource.subscribers.push(this);
  }

  /** Resolves `half` when the transaction of `runner` ends. */
  join(runner: QueryRunner | undefined, half: JoinedHalf): void {
    if (!runner) return; // left to check-back
    const pending = this.joined.get(runner) ?? [];
    pending.push(half);
    this.joined.set(runner, pending);
  }

  afterTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    return this.resolveJoined(event.queryRunner);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): Promise<void> {
    return this.resolveJoined(event.queryRunner);
  }

  /**
   * The outer transaction ended (a savepoint release is not the end). The barrier answers
   * exactly, whether a savepoint rolled our row back or not.
   */
  private async resolveJoined(runner: QueryRunner): Promise<void> {
    if (runner.isTransactionActive) return;
    const pending = this.joined.get(runner);
    if (!pending) return;
    this.joined.delete(runner);
    const { producer } = this.runtime;
    for (const half of pending) {
      try {
        // stored by this process during the outer transaction: younger than any horizon
        const state = await this.store.claimForCheck(half.transactionId, half.topic, half.msgId, null);
        if (state === 'COMMITTED') {
          await this.options.onLocalCommit?.({ transactionId: half.transactionId, msgId: half.msgId, topic: half.topic });
          await producer.commit(half.transactionId);
        } else if (state === 'ROLLED_BACK') await producer.rollback(half.transactionId);
      } catch (error) {
        this.logger.log('warn', 'resolving a half after the outer transaction failed; check-back will finish it', {
          transactionId: half.transactionId,
          error: errorText(error),
        });
      }
    }
  }
}
