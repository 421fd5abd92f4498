import type { BrokerContext } from '../broker-context';
import { errorText } from '../logger';
import { databaseTimeAgo, deleteExpiredMessages } from '../store/maintenance';
import { deleteOldTransactionRecords } from '../store/maintenance';
import { deleteOldAudit } from '../store/audit';

const BATCH = 1_000;

/**
 * Runs the broker's retention: deletes messages older than the retention, as a prefix of
 * each queue, and the outcomes of old transactions (resolved_transactions), in batches of
 * short transactions that never lock queue rows, so producers and consumers are not held
 * up. Every broker runs one; an advisory lock lets one work.
 */
export class RetentionRunner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(private readonly ctx: BrokerContext) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.runOnce()
        .catch((error: unknown) => this.ctx.options.logger.log('warn', 'retention pass failed; will retry', { error: errorText(error) }))
        .finally(() => {
          this.running = null;
        });
    }, this.ctx.options.retentionCheckInterval);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /**
   * Deletes everything expired now (batch after batch): messages, transaction outcomes
   * kept for idempotent commits, and audit entries past `auditRetention`. Returns how
   * many messages went.
   */
  async runOnce(): Promise<number> {
    // one cutoff for the whole pass, on the database's clock, which stamped stored_at
    const cutoff = await databaseTimeAgo(this.ctx.schedulerPool, this.ctx.options.retention);
    let total = 0;
    for (;;) {
      const deleted = await deleteExpiredMessages(this.ctx.schedulerPool, cutoff, BATCH);
      if (deleted > 0) total += deleted;
      if (deleted < BATCH) break;
    }
    while ((await deleteOldTransactionRecords(this.ctx.schedulerPool, cutoff, BATCH)) === BATCH);
    const auditCutoff = await databaseTimeAgo(this.ctx.schedulerPool, this.ctx.options.auditRetention);
    while ((await deleteOldAudit(this.ctx.schedulerPool, auditCutoff, BATCH)) === BATCH);
    return total;
  }
}
