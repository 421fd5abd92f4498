import type { BrokerContext } from '../broker-context';
import { decodeHalfDue } from '../store/notifications';
import { errorText } from '../logger';
import { TIMED_OUT, within } from '../util/timeout';
import { toMessageView } from '../stored-message';
import { ClaimedHalf, claimDueHalves, nextHalfDue, recordInconclusiveChecks, ResolveResult } from '../store/halves';
import { leaveProducerGroup, producerHeartbeat } from '../store/membership';
import { trackResource, untrackResource } from '../util/resources';
import { DueLoop } from '../util/due-loop';
import type { PassResult } from '../util/due-loop';
import type { CheckSpanHandle } from '../tracing/tracing';
import type { ResolvedTransactionProducerOptions, TransactionResolution } from './transaction-producer';

const CLAIM_BATCH = 64;

/**
 * One member's check-back duty: claim due halves of its group (a lease per half,
 * SKIP LOCKED, so members never check one half at once and a dead member's claims
 * expire), ask the checker with bounded concurrency and a timeout, and resolve,
 * re-schedule or park. Sleeps until the group's next due half; woken early when a
 * nearer one is stored.
 */
export class CheckBackLoop {
  private readonly loop: DueLoop;
  private checksSinceHeartbeat = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly options: ResolvedTransactionProducerOptions,
    private readonly clientId: string,
    private readonly resolve: (transactionId: string, outcome: 'COMMIT' | 'ROLLBACK') => Promise<ResolveResult>,
  ) {
    this.loop = new DueLoop(
      () => this.pass(),
      ctx.options.pollInterval,
      (error) => ctx.options.logger.log('warn', 'check-back pass failed; will retry', { group: options.group, error: errorText(error) }),
    );
  }

  async start(): Promise<void> {
    await this.beat();
    trackResource(this, `TransactionProducer(group=${this.options.group}, client=${this.clientId})`);
    this.heartbeat = setInterval(() => void this.beat(), this.ctx.options.heartbeatInterval);
    this.unsubscribe = this.ctx.listener.subscribe(this.ctx.channels.halves, (payload) => {
      const due = decodeHalfDue(payload);
      if (due === null || due.group === this.options.group) this.loop.dueIn(due?.dueInMs ?? null);
    });
    if (this.options.runCheckBack) this.loop.start();
  }

  async stop(): Promise<void> {
    if (this.loop.isStopped) return;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.unsubscribe?.();
    await this.loop.stop();
    try {
      await leaveProducerGroup(this.ctx.producerPool, this.options.group, this.clientId);
    } catch (error) {
      this.ctx.options.logger.log('warn', 'leaving the producer group failed; claims will expire', { group: this.options.group, error: errorText(error) });
    }
    untrackResource(this);
  }

  private async beat(): Promise<void> {
    const checks = this.checksSinceHeartbeat;
    this.checksSinceHeartbeat = 0;
    try {
      await producerHeartbeat(this.ctx.producerPool, this.options.group, this.clientId, this.ctx.options.sessionTimeout, checks);
    } catch (error) {
      this.checksSinceHeartbeat += checks;
      this.ctx.options.logger.log('warn', 'producer heartbeat failed', { group: this.options.group, error: errorText(error) });
    }
  }

  /** Claims and checks due halves; again at once while a full batch came back, else sleeps until the next is due. */
  private async pass(): Promise<PassResult> {
    const claimed = await claimDueHalves(
      this.ctx.producerPool,
      this.options.group,
      this.clientId,
      this.options.checkTimeout + this.ctx.options.sessionTimeout,
      CLAIM_BATCH,
    );
    if (claimed.length > 0) await this.checkAll(claimed);
    if (claimed.length === CLAIM_BATCH) return 'again';
    return { nextDueInMs: await nextHalfDue(this.ctx.producerPool, this.options.group) };
  }

  /** Checks claimed halves, `checkConcurrency` at a time; inconclusive ones are re-scheduled together. */
  private async checkAll(claimed: ClaimedHalf[]): Promise<void> {
    const inconclusive: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < claimed.length && !this.loop.isStopped) {
        const half = claimed[next];
        next += 1;
        const tracing = this.ctx.tracing;
        const outcome = tracing === null ? await this.check(half, null) : await tracing.checkBack(this.options.group, half, (span) => this.check(half, span));
        if (outcome === 'UNKNOWN') inconclusive.push(half.transactionId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.checkConcurrency, claimed.length) }, worker));
    if (inconclusive.length > 0) {
      await recordInconclusiveChecks(this.ctx.producerPool, inconclusive, this.clientId, this.options.checkInterval, this.options.maxChecks);
    }
  }

  /**
   * Asks the checker about one half and applies a COMMIT or ROLLBACK; returns the answer
   * (UNKNOWN for one to re-schedule). Inside the check-back span when tracing, so the
   * checker's own spans nest under it.
   */
  private async check(half: ClaimedHalf, span: CheckSpanHandle | null): Promise<TransactionResolution> {
    const answer = await this.ask(half, span);
    this.checksSinceHeartbeat += 1;
    if (answer === 'UNKNOWN') return answer;
    try {
      await this.resolve(half.transactionId, answer);
    } catch (error) {
      // resolved meanwhile by its own producer (or an operator): nothing left to do
      this.ctx.options.logger.log('info', 'check-back outcome not applied', { transactionId: half.transactionId, error: errorText(error) });
    }
    return answer;
  }

  private async ask(half: ClaimedHalf, span: CheckSpanHandle | null): Promise<TransactionResolution> {
    try {
      // a checker that has not answered within checkTimeout counts as UNKNOWN
      const answer = await within(
        Promise.resolve(this.options.checker({ ...toMessageView(half), transactionId: half.transactionId })),
        this.options.checkTimeout,
      );
      const outcome = answer === 'COMMIT' || answer === 'ROLLBACK' ? answer : 'UNKNOWN';
      const reported = answer === TIMED_OUT ? 'timeout' : outcome;
      this.ctx.metrics?.checkedBack(this.options.group, reported);
      span?.answered(reported);
      if (answer === TIMED_OUT) span?.fail(new Error(`checker exceeded checkTimeout (${this.options.checkTimeout} ms)`), 'timeout');
      return outcome;
    } catch (error) {
      this.ctx.metrics?.checkedBack(this.options.group, 'error');
      span?.answered('error');
      span?.fail(error, error instanceof Error ? error.name : 'Error');
      this.ctx.options.logger.log('warn', 'checker failed; counted as UNKNOWN', {
        group: this.options.group,
        transactionId: half.transactionId,
        error: errorText(error),
      });
      return 'UNKNOWN';
    }
  }
}
