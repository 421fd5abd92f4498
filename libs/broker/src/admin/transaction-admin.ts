import { intOption } from '../option-limits';
import type { BrokerContext } from '../broker-context';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { TransactionAlreadyResolvedError } from '../errors/transaction-already-resolved.error';
import { TransactionNotFoundError } from '../errors/transaction-not-found.error';
import { listHalves, recheckHalf, resolveHalves, transactionStats } from '../store/halves';

export interface HalfMessageInfo {
  transactionId: string;
  producerGroup: string;
  msgId: string;
  topic: string;
  state: 'pending' | 'parked';
  checks: number;
  createdAt: Date;
  nextCheckAt: Date;
}

export interface TransactionStats {
  producerGroup: string;
  pending: number;
  parked: number;
  /** Age of the oldest pending half, ms (null when none). */
  oldestPendingAgeMs: number | null;
  checksPerformed: number;
  liveMembers: number;
}

/** Operator view of transactional messages: pending and parked halves, manual resolution, counters. */
export class TransactionAdmin {
  /** @internal part of `broker.admin` */
  constructor(private readonly ctx: BrokerContext) {}

  async listHalfMessages(options: { state?: 'pending' | 'parked'; group?: string; limit?: number } = {}): Promise<HalfMessageInfo[]> {
    this.ctx.assertOpen('list half messages');
    if (options.state !== undefined && options.state !== 'pending' && options.state !== 'parked') {
      throw new InvalidOptionsError('state', "must be 'pending' or 'parked'");
    }
    const limit = intOption(options.limit, 'limit', 100, 1, 10_000);
    const rows = await listHalves(this.ctx.pool, options.state ? (options.state.toUpperCase() as 'PENDING' | 'PARKED') : null, options.group ?? null, limit);
    return rows.map((row) => ({
      transactionId: row.transactionId,
      producerGroup: row.producerGroup,
      msgId: row.msgId,
      topic: row.topic,
      state: row.state === 'PARKED' ? 'parked' : 'pending',
      checks: row.checks,
      createdAt: row.createdAt,
      nextCheckAt: row.checkAfter,
    }));
  }

  /** Commits or rolls back a half by hand (a parked one, typically). */
  async resolveHalf(transactionId: string, outcome: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    this.ctx.assertOpen('resolve a half message');
    if (outcome !== 'COMMIT' && outcome !== 'ROLLBACK') throw new InvalidOptionsError('outcome', "must be 'COMMIT' or 'ROLLBACK'");
    if (typeof transactionId !== 'string' || transactionId.length === 0) throw new InvalidOptionsError('transactionId', 'must be a transaction id');
    const [result] = await resolveHalves(this.ctx.pool, [transactionId], outcome, 'admin');
    if (result.status === 'NOT_FOUND') throw new TransactionNotFoundError(transactionId);
    if (result.status === 'CONFLICT') throw new TransactionAlreadyResolvedError(transactionId, outcome === 'COMMIT' ? 'ROLLBACK' : 'COMMIT');
  }

  /** Sends a parked half back to its producer group's check-back, now, with a fresh check budget. */
  async recheckHalf(transactionId: string): Promise<void> {
    this.ctx.assertOpen('re-check a half message');
    if (!(await recheckHalf(this.ctx.pool, transactionId))) throw new TransactionNotFoundError(transactionId);
  }

  /** Per producer group: pending and parked halves, oldest pending age, checks performed, live members. */
  async transactionStats(): Promise<TransactionStats[]> {
    this.ctx.assertOpen('read transaction stats');
    return (await transactionStats(this.ctx.pool)).map((row) => ({
      producerGroup: row.producerGroup,
      pending: row.pending,
      parked: row.parked,
      oldestPendingAgeMs: row.oldestPendingMs,
      checksPerformed: row.checksPerformed,
      liveMembers: row.liveMembers,
    }));
  }
}
