import { Inject, Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { Propagation, TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { HalfReceipt, Message, TransactionNotFoundError } from '@herald/broker';
import { errorText } from '@herald/broker/internal';
import type { FromResult, TransactionalMessageOptions } from '../decorators/transactional-message.decorator';
import { TransactionCheckedBackError } from '../errors/transaction-checked-back.error';
import { ENCODING_PROPERTY, HERALD_OPTIONS, HERALD_TRANSACTION_HOST } from '../herald.constants';
import type { ResolvedHeraldOptions } from '../herald-module-options';
import { HeraldRuntime } from '../lifecycle/herald-runtime';
import { NestBrokerLogger } from '../nest-broker-logger';
import { encodeBody } from '../receiving/message-codec';
import { ServiceStore } from '../store/service-store';
import { OuterTransactionSubscriber } from './outer-transaction.subscriber';

type Method = (...args: unknown[]) => unknown;

function computed<T>(value: T | FromResult<T> | undefined, result: unknown, args: unknown[]): T | undefined {
  return typeof value === 'function' ? (value as (...a: unknown[]) => T)(result, ...args) : value;
}

function isUniqueViolation(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: unknown } } | null)?.driverError;
  return (driverError?.code ?? (error as { code?: unknown } | null)?.code) === '23505';
}

/**
 * Runs a @TransactionalMessage method: local transaction → method → half message →
 * transaction-log row → local commit → broker commit. A throw before the local commit
 * rolls back both; anything lost after it is finished by check-back.
 */
@Injectable()
export class TransactionalMessageSender {
  constructor(
    @Inject(HERALD_OPTIONS) private readonly options: ResolvedHeraldOptions,
    private readonly runtime: HeraldRuntime,
    private readonly store: ServiceStore,
    private readonly logger: NestBrokerLogger,
    private readonly cls: ClsService,
    @Inject(HERALD_TRANSACTION_HOST) private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly outerTransactions: OuterTransactionSubscriber,
  ) {}

  send(options: TransactionalMessageOptions, target: object, method: Method, args: unknown[]): Promise<unknown> {
    const run = (): Promise<unknown> => this.sendInTransaction(options, target, method, args);
    return this.cls.isActive() ? run() : this.cls.run(run);
  }

  private async sendInTransaction(options: TransactionalMessageOptions, target: object, method: Method, args: unknown[]): Promise<unknown> {
    const { producer } = this.runtime;
    const joined = this.txHost.isTransactionActive();
    // written inside the transaction callback, read after it
    const progress: { half: HalfReceipt | null; committing: boolean } = { half: null, committing: false };
    let result: unknown;
    try {
      // Joined: a savepoint, so a throw takes back this method's writes even if the caller catches it.
      result = await this.txHost.withTransaction(joined ? Propagation.Nested : Propagation.Required, async () => {
        const value = await method.apply(target, args);
        const half = producer.prepareHalf(this.toMessage(options, value, args));
        progress.half = half;
        // The half (broker database) and the log row (this transaction) in parallel: either
        // failing rolls back the local transaction, and a half without a committed row is rolled
        // back by check-back. A check-back can only claim the id once the half is stored.
        const [stored, logged] = await Promise.allSettled([
          half.store(),
          this.store.recordCommitted(this.txHost.tx, half.transactionId, options.topic, half.msgId),
        ]);
        if (logged.status === 'rejected') {
          if (isUniqueViolation(logged.reason)) throw new TransactionCheckedBackError(half.transactionId, options.topic, logged.reason);
          throw logged.reason;
        }
        if (stored.status === 'rejected') throw stored.reason;
        if (joined) this.outerTransactions.join(this.txHost.tx.queryRunner, { ...half, topic: options.topic });
        progress.committing = true;
        return value;
      });
    } catch (error) {
      // A failed COMMIT may still have committed: only check-back knows. Before it, the
      // local transaction is surely rolled back, so the half goes too.
      const receipt = progress.half;
      if (receipt !== null && !progress.committing) {
        await producer.rollback(receipt.transactionId).catch((rollbackError: unknown) => {
          // never stored: nothing to roll back
          if (rollbackError instanceof TransactionNotFoundError) return;
          this.logger.log('warn', 'half rollback failed; check-back will roll it back', {
            transactionId: receipt.transactionId,
            topic: options.topic,
            error: errorText(rollbackError),
          });
        });
      }
      throw error;
    }
    const receipt = progress.half;
    if (receipt !== null && !joined) {
      await this.options.onLocalCommit?.({ transactionId: receipt.transactionId, msgId: receipt.msgId, topic: options.topic });
      await producer.commit(receipt.transactionId).catch((error: unknown) =>
        this.logger.log('warn', 'broker commit failed after the local commit; check-back will commit it', {
          transactionId: receipt.transactionId,
          topic: options.topic,
          msgId: receipt.msgId,
          error: errorText(error),
        }),
      );
    }
    return result;
  }

  private toMessage(options: TransactionalMessageOptions, value: unknown, args: unknown[]): Message {
    const { body, encoding } = encodeBody(options.body ? computed(options.body, value, args) : value);
    return {
      topic: options.topic,
      tag: options.tag,
      body,
      keys: computed(options.keys, value, args),
      messageGroup: computed(options.messageGroup, value, args),
      properties: { ...computed(options.properties, value, args), [ENCODING_PROPERTY]: encoding },
      delayLevel: options.delayLevel,
    };
  }
}
