import { boolOption, intOption, limitedOption, OPTION_LIMITS } from '../option-limits';
import { randomUUID } from 'node:crypto';
import type { BrokerContext } from '../broker-context';
import { IllegalStateError } from '../errors/illegal-state.error';
import { toHeraldError } from '../errors/store-errors';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { TransactionAlreadyResolvedError } from '../errors/transaction-already-resolved.error';
import { TransactionNotFoundError } from '../errors/transaction-not-found.error';
import type { Message, MessageView, SendReceipt } from '../message';
import { toOutgoingMessage } from '../message-validation';
import { HalfToStore, insertHalves, resolveHalves, ResolveResult } from '../store/halves';
import { assertGroupName } from '../topic-name';
import { GroupCommit } from '../util/group-commit';
import { QueueSelector } from './queue-selector';
import { CheckBackLoop } from './check-back-loop';
import { assertTransactionId } from './transaction-id';
import { newClientId } from '../util/keys';

export type TransactionResolution = 'COMMIT' | 'ROLLBACK' | 'UNKNOWN';
/** Answers a check-back: did the local transaction of this half message commit? */
export type TransactionChecker = (message: MessageView & { transactionId: string }) => Promise<TransactionResolution> | TransactionResolution;

export interface TransactionProducerOptions {
  /** Producer group; any live member may answer the group's check-backs. Required. */
  group: string;
  /** Answers check-backs. Required. */
  checker: TransactionChecker;
  /** A half unresolved this long is checked back, ms. Default 6 000. */
  transactionTimeout?: number;
  /** Between checks of a half that stays UNKNOWN, ms. Default 60 000. */
  checkInterval?: number;
  /** Checks before a half is parked for an operator. Default 15. */
  maxChecks?: number;
  /** A checker call taking longer counts as UNKNOWN, ms. Default 10 000. */
  checkTimeout?: number;
  /** Checker calls running at once in this member. Default 8. */
  checkConcurrency?: number;
  /** Run this member's check-back loop (after `start()`). Default true. */
  runCheckBack?: boolean;
}

export interface ResolvedTransactionProducerOptions {
  group: string;
  checker: TransactionChecker;
  transactionTimeout: number;
  checkInterval: number;
  maxChecks: number;
  checkTimeout: number;
  checkConcurrency: number;
  runCheckBack: boolean;
}

export interface HalfReceipt {
  msgId: string;
  transactionId: string;
}

/** A validated half message with its ids, not stored yet: `store()` makes it durable (once). */
export interface PreparedHalf extends HalfReceipt {
  store(): Promise<void>;
}

function resolveTransactionProducerOptions(options: TransactionProducerOptions): ResolvedTransactionProducerOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be an object');
  assertGroupName(options.group);
  if (typeof options.checker !== 'function') throw new InvalidOptionsError('checker', 'must be a function returning COMMIT, ROLLBACK or UNKNOWN');
  return {
    group: options.group,
    checker: options.checker,
    transactionTimeout: limitedOption(options.transactionTimeout, 'transactionTimeout', OPTION_LIMITS.transactionTimeout),
    checkInterval: limitedOption(options.checkInterval, 'checkInterval', OPTION_LIMITS.checkInterval),
    maxChecks: limitedOption(options.maxChecks, 'maxChecks', OPTION_LIMITS.maxChecks),
    checkTimeout: intOption(options.checkTimeout, 'checkTimeout', 10_000, 1, 3_600_000),
    checkConcurrency: intOption(options.checkConcurrency, 'checkConcurrency', 8, 1, 1_000),
    runCheckBack: boolOption(options.runCheckBack, 'runCheckBack', true),
  };
}

/**
 * Sends transactional (half) messages: `sendHalf` stores the message durable and
 * invisible, `commit` makes it visible (appended in the same broker transaction
 * that removes the half), `rollback` discards it. After `start()` this member
 * also answers its group's check-backs for halves left unresolved.
 */
export class TransactionProducer {
  readonly group: string;
  readonly clientId: string;
  private readonly options: ResolvedTransactionProducerOptions;
  private readonly halves: GroupCommit<HalfToStore, void>;
  private readonly resolutions: { COMMIT: GroupCommit<string, ResolveResult>; ROLLBACK: GroupCommit<string, ResolveResult> };
  private readonly queueSelector = new QueueSelector();
  private loop: CheckBackLoop | null = null;

  /** @internal use `broker.transactionProducer(...)` */
  constructor(
    private readonly ctx: BrokerContext,
    options: TransactionProducerOptions,
  ) {
    this.options = resolveTransactionProducerOptions(options);
    this.group = this.options.group;
    this.clientId = newClientId();
    const { producerPool: pool, options: brokerOptions } = ctx;
    this.halves = new GroupCommit<HalfToStore, void>(async (batch) => {
      await insertHalves(pool, batch);
      return batch.map(() => undefined);
    }, ctx.sendLimits);
    const idLimits = { ...ctx.sendLimits, maxBytes: Number.POSITIVE_INFINITY, sizeOf: () => 0, lanesOf: undefined };
    const resolver = (outcome: 'COMMIT' | 'ROLLBACK') =>
      new GroupCommit<string, ResolveResult>(
        async (ids) => {
          const results = await resolveHalves(pool, ids, outcome, this.clientId);
          ctx.metrics?.resolved(this.group, outcome, results);
          return results;
        },
        { ...idLimits, maxItems: brokerOptions.maxBatchSize },
      );
    this.resolutions = { COMMIT: resolver('COMMIT'), ROLLBACK: resolver('ROLLBACK') };
  }

  /** Joins the producer group and starts answering its check-backs. */
  async start(): Promise<void> {
    this.ctx.assertOpen('start a transaction producer');
    if (this.loop) throw new IllegalStateError(`transaction producer of group "${this.group}"`, 'started', 'start');
    this.loop = new CheckBackLoop(this.ctx, this.options, this.clientId, (id, outcome) => this.resolve(id, outcome));
    await this.loop.start();
  }

  /** Leaves the group (its claimed halves go back to the others at once) and waits for running checks. */
  async shutdown(): Promise<void> {
    await this.loop?.stop();
    await this.halves.drain();
    await this.resolutions.COMMIT.drain();
    await this.resolutions.ROLLBACK.drain();
  }

  /** Stores a half message: durable once this resolves, invisible until committed. */
  async sendHalf(message: Message, options: { transactionTimeout?: number } = {}): Promise<HalfReceipt> {
    const half = this.prepareHalf(message, options);
    await half.store();
    return { msgId: half.msgId, transactionId: half.transactionId };
  }

  /**
   * Validates a half message and assigns its ids without storing it, so a caller can
   * write its own record of the transaction while `store()` runs.
   */
  prepareHalf(message: Message, options: { transactionTimeout?: number } = {}): PreparedHalf {
    this.ctx.assertOpen('send');
    const outgoing = toOutgoingMessage(message, this.ctx.options.maxMessageSize, this.ctx.options);
    const transactionTimeout = limitedOption(
      options.transactionTimeout,
      'transactionTimeout',
      OPTION_LIMITS.transactionTimeout,
      this.options.transactionTimeout,
    );
    const transactionId = randomUUID();
    const storeHalf = async (): Promise<void> => {
      try {
        const queues = await this.ctx.routes.queueCount(outgoing.topic);
        const queueId = this.queueSelector.select(outgoing.topic, outgoing.messageGroup, queues);
        await this.halves.submit([{ ...outgoing, queueId, transactionId, producerGroup: this.group, transactionTimeout }]);
      } catch (error) {
        throw toHeraldError('send half', error);
      }
    };
    // the half carries the context active at store(): a check-back commit minutes later, in
    // another process, delivers it with that context still
    const tracing = this.ctx.tracing;
    const store = tracing === null ? storeHalf : () => tracing.send('send_half', outgoing.topic, [outgoing], storeHalf);
    return { msgId: outgoing.msgId, transactionId, store };
  }

  /** Makes the half visible, once; committing again is a no-op, committing a rolled-back one an error. */
  async commit(transactionId: string): Promise<SendReceipt> {
    const result = await this.resolve(transactionId, 'COMMIT');
    return { msgId: result.msgId ?? '', topic: result.topic ?? '', queueId: result.queueId ?? -1, queueOffset: result.queueOffset ?? -1 };
  }

  /** Discards the half; rolling back again is a no-op, rolling back a committed one an error. */
  async rollback(transactionId: string): Promise<void> {
    await this.resolve(transactionId, 'ROLLBACK');
  }

  private async resolve(transactionId: string, outcome: 'COMMIT' | 'ROLLBACK'): Promise<ResolveResult> {
    this.ctx.assertOpen(outcome === 'COMMIT' ? 'commit' : 'roll back');
    assertTransactionId(transactionId);
    let result: ResolveResult;
    try {
      [result] = await this.resolutions[outcome].submit([transactionId]);
    } catch (error) {
      throw toHeraldError(outcome === 'COMMIT' ? 'commit' : 'roll back', error);
    }
    if (result.status === 'NOT_FOUND') throw new TransactionNotFoundError(transactionId);
    if (result.status === 'CONFLICT') throw new TransactionAlreadyResolvedError(transactionId, outcome === 'COMMIT' ? 'ROLLBACK' : 'COMMIT');
    return result;
  }
}
