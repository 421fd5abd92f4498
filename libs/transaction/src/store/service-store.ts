import { join } from 'node:path';
import { escapeIdentifier } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { loadMigrations, migrate, MigrationConnection } from '@herald/broker';

export type LogState = 'COMMITTED' | 'ROLLED_BACK';

/** Something TypeORM can run SQL on: the DataSource, or the EntityManager of a transaction. */
type Queryable = Pick<EntityManager, 'query'>;

const MIGRATIONS = loadMigrations(join(__dirname, 'migrations'));

/**
 * The transaction log and the inbox in the service's own database. Every statement
 * is one round trip; the schema name is validated at startup, never user data.
 */
export class ServiceStore {
  private readonly log: string;
  private readonly inbox: string;

  constructor(private readonly dataSource: DataSource, private readonly schema: string) {
    this.log = `${escapeIdentifier(schema)}.transaction_log`;
    this.inbox = `${escapeIdentifier(schema)}.inbox`;
  }

  /** Creates or upgrades the tables; safe when several instances start at once. */
  async migrate(): Promise<void> {
    const connect = async (): Promise<MigrationConnection> => {
      const runner = this.dataSource.createQueryRunner();
      await runner.connect();
      return {
        query: async (sql, params) => ({ rows: (await runner.query(sql, params)) as unknown[] }),
        escapeIdentifier,
        release: () => void runner.release(),
      };
    };
    await migrate({ connect }, this.schema, MIGRATIONS);
  }

  /** Written inside the local transaction; fails on the key if a check-back claimed the id first. */
  async recordCommitted(tx: Queryable, transactionId: string, topic: string, msgId: string): Promise<void> {
    await tx.query(`INSERT INTO ${this.log} (transaction_id, state, topic, msg_id) VALUES ($1, 'COMMITTED', $2, $3)`, [transactionId, topic, msgId]);
  }

  /**
   * The check-back barrier. The marker insert waits while a local transaction holding
   * the same id is open; afterwards whichever row exists is the answer. Two statements,
   * so the read sees what committed while the insert waited.
   */
  async claimForCheck(transactionId: string, topic: string, msgId: string): Promise<LogState | null> {
    const inserted = (await this.dataSource.query(
      `INSERT INTO ${this.log} (transaction_id, state, topic, msg_id) VALUES ($1, 'ROLLED_BACK', $2, $3)
       ON CONFLICT (transaction_id) DO NOTHING RETURNING state`,
      [transactionId, topic, msgId],
    )) as { state: LogState }[];
    if (inserted.length > 0) return 'ROLLED_BACK';
    const rows = (await this.dataSource.query(`SELECT state FROM ${this.log} WHERE transaction_id = $1`, [transactionId])) as { state: LogState }[];
    // no row after a conflict: retention deleted it in between; the caller answers UNKNOWN
    return rows[0]?.state ?? null;
  }

  /** Inserts the inbox row in the handler's transaction; false if this group already applied the message. */
  async claimInbox(tx: Queryable, group: string, msgId: string, topic: string): Promise<boolean> {
    const rows = (await tx.query(
      `INSERT INTO ${this.inbox} (consumer_group, msg_id, topic) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1 AS fresh`,
      [group, msgId, topic],
    )) as unknown[];
    return rows.length > 0;
  }

  /** Deletes log and inbox rows older than `retentionMs`, at most `limit` of each per call. */
  async deleteOlderThan(retentionMs: number, limit: number): Promise<number> {
    const rows = (await this.dataSource.query(
      `WITH l AS (DELETE FROM ${this.log} WHERE transaction_id IN (
                    SELECT transaction_id FROM ${this.log} WHERE created_at < now() - make_interval(secs => $1 / 1000.0) LIMIT $2)
                  RETURNING 1),
            i AS (DELETE FROM ${this.inbox} WHERE (consumer_group, msg_id) IN (
                    SELECT consumer_group, msg_id FROM ${this.inbox} WHERE applied_at < now() - make_interval(secs => $1 / 1000.0) LIMIT $2)
                  RETURNING 1)
       SELECT (SELECT count(*) FROM l)::int + (SELECT count(*) FROM i)::int AS deleted`,
      [retentionMs, limit],
    )) as { deleted: number }[];
    return rows[0]?.deleted ?? 0;
  }
}
