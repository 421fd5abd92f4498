import { join } from 'node:path';
import { escapeIdentifier } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { loadMigrations, migrate, MigrationConnection } from '@herald/broker/internal';

export type LogState = 'COMMITTED' | 'ROLLED_BACK';

/**
 * What the check-back barrier found: a state, `PAST_HORIZON` (no row, and the half is older
 * than the log horizon, so a row may have existed and been deleted), or null (a row vanished
 * between the two statements: deleted by retention meanwhile).
 */
export type CheckClaim = LogState | 'PAST_HORIZON' | null;

/** What a delivery found in the inbox: run the handler, a duplicate to skip, or refused (past the inbox horizon). */
export type InboxClaim = 'APPLY' | 'DUPLICATE' | 'REFUSED';

/** An inbox row's key. */
export interface InboxKey {
  group: string;
  msgId: string;
}

/** Where a retention scan stopped: the age column as PostgreSQL text (microseconds intact) and the row's key. */
export interface RetentionCursor<K> {
  at: string;
  key: K;
}

/** Expired rows' keys, oldest first, and where to continue (null: no more). */
export interface ExpiredRows<K> {
  keys: K[];
  next: RetentionCursor<K> | null;
}

/** Something TypeORM can run SQL on: the DataSource, or the EntityManager of a transaction. */
type Queryable = Pick<EntityManager, 'query'>;

// The package's migrations/ folder: two levels up from both src/store and dist/store.
const MIGRATIONS = loadMigrations(join(__dirname, '..', '..', 'migrations'));

/**
 * The transaction log and the inbox in the service's own database. Every statement
 * is one round trip; the schema name is validated at startup, never user data.
 */
export class ServiceStore {
  private readonly log: string;
  private readonly inbox: string;
  private readonly horizon: string;

  /** `clockTolerance`: ms by which a half's or message's time is moved back before it is compared with a horizon. */
  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
    private readonly clockTolerance: number,
  ) {
    this.log = `${escapeIdentifier(schema)}.transaction_log`;
    this.inbox = `${escapeIdentifier(schema)}.inbox`;
    this.horizon = `${escapeIdentifier(schema)}.retention_horizon`;
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
    await migrate({ connect }, this.schema, { migrations: MIGRATIONS });
  }

  /**
   * Sets horizons left unknown by the migration that created them. Rows were deleted by age
   * alone until then, so a deleted row is older than every surviving one, and older than
   * the configured retention (assumed unchanged across the upgrade): the earlier of the two.
   * A new service (empty tables) gets `now - retention`: nothing it sent or applied is older.
   */
  async initHorizons(logRetentionMs: number, inboxRetentionMs: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE ${this.horizon} SET
         log_horizon = coalesce(log_horizon, least((SELECT min(created_at) FROM ${this.log}), now() - make_interval(secs => $1 / 1000.0))),
         inbox_horizon = coalesce(inbox_horizon, least((SELECT min(applied_at) FROM ${this.inbox}), now() - make_interval(secs => $2 / 1000.0)))
       WHERE log_horizon IS NULL OR inbox_horizon IS NULL`,
      [logRetentionMs, inboxRetentionMs],
    );
  }

  /** Written inside the local transaction; fails on the key if a check-back claimed the id first. */
  async recordCommitted(tx: Queryable, transactionId: string, topic: string, msgId: string): Promise<void> {
    await tx.query(`INSERT INTO ${this.log} (transaction_id, state, topic, msg_id) VALUES ($1, 'COMMITTED', $2, $3)`, [transactionId, topic, msgId]);
  }

  /**
   * The check-back barrier. The marker insert waits while a local transaction holding
   * the same id is open; afterwards whichever row exists is the answer. Two statements,
   * so the read sees what committed while the insert waited.
   *
   * `halfTime` is the earliest time known of the half (its born or stored time; null for a
   * half this process stored moments ago). A half older than the log horizon (less the clock
   * tolerance) gets no marker: its row may have been deleted, so a missing row proves nothing.
   * Without a horizon row at all, every half counts as past it.
   */
  async claimForCheck(transactionId: string, topic: string, msgId: string, halfTime: Date | null): Promise<CheckClaim> {
    const [claim] = await this.dataSource.query<{ younger: boolean; claimed: boolean }[]>(
      `WITH horizon AS (
         SELECT $4::timestamptz IS NULL OR $4::timestamptz - make_interval(secs => $5 / 1000.0) > log_horizon AS younger FROM ${this.horizon}
       ), marker AS (
         INSERT INTO ${this.log} (transaction_id, state, topic, msg_id)
         SELECT $1, 'ROLLED_BACK', $2, $3 FROM horizon WHERE younger
         ON CONFLICT (transaction_id) DO NOTHING RETURNING state
       )
       SELECT younger, EXISTS (SELECT 1 FROM marker) AS claimed FROM horizon`,
      [transactionId, topic, msgId, halfTime, this.clockTolerance],
    );
    if (claim?.claimed === true) return 'ROLLED_BACK';
    const rows = await this.dataSource.query<{ state: LogState }[]>(`SELECT state FROM ${this.log} WHERE transaction_id = $1`, [transactionId]);
    if (rows.length > 0) return rows[0].state;
    return claim?.younger === true ? null : 'PAST_HORIZON';
  }

  /**
   * Inserts the inbox row in the handler's transaction, one statement. No row yet: APPLY, or,
   * when the message was stored before the inbox horizon (less the clock tolerance), a REFUSED
   * row, since its earlier application's row may have been deleted. A row already there: a
   * DUPLICATE, unless an operator RELEASED it, which applies it now.
   */
  async claimInbox(tx: Queryable, group: string, msgId: string, topic: string, storedAt: Date): Promise<InboxClaim> {
    const rows = await tx.query<{ state: 'APPLIED' | 'REFUSED' }[]>(
      `INSERT INTO ${this.inbox} (consumer_group, msg_id, topic, state)
       SELECT $1, $2, $3, CASE WHEN coalesce($4::timestamptz - make_interval(secs => $5 / 1000.0) > (SELECT inbox_horizon FROM ${this.horizon}), false)
                               THEN 'APPLIED' ELSE 'REFUSED' END
       ON CONFLICT (consumer_group, msg_id) DO UPDATE SET state = 'APPLIED', applied_at = clock_timestamp() WHERE ${this.inbox}.state = 'RELEASED'
       RETURNING state`,
      [group, msgId, topic, storedAt, this.clockTolerance],
    );
    if (rows.length === 0) return 'DUPLICATE';
    return rows[0].state === 'APPLIED' ? 'APPLY' : 'REFUSED';
  }

  /** Up to `limit` log rows older than `retentionMs` (database clock), oldest first, after `after`. */
  async expiredLogRows(retentionMs: number, limit: number, after: RetentionCursor<string> | null): Promise<ExpiredRows<string>> {
    const rows = await this.dataSource.query<{ transaction_id: string; at: string }[]>(
      `SELECT transaction_id, created_at::text AS at FROM ${this.log}
       WHERE created_at < now() - make_interval(secs => $1 / 1000.0)
         AND ($3::text IS NULL OR (created_at, transaction_id) > ($3::timestamptz, $4::text))
       ORDER BY created_at, transaction_id LIMIT $2`,
      [retentionMs, limit, after?.at ?? null, after?.key ?? null],
    );
    const last = rows.at(-1);
    return { keys: rows.map((row) => row.transaction_id), next: rows.length === limit && last ? { at: last.at, key: last.transaction_id } : null };
  }

  /** Up to `limit` inbox rows older than `retentionMs` (database clock), oldest first, after `after`. */
  async expiredInboxRows(retentionMs: number, limit: number, after: RetentionCursor<InboxKey> | null): Promise<ExpiredRows<InboxKey>> {
    const rows = await this.dataSource.query<{ consumer_group: string; msg_id: string; at: string }[]>(
      `SELECT consumer_group, msg_id, applied_at::text AS at FROM ${this.inbox}
       WHERE applied_at < now() - make_interval(secs => $1 / 1000.0)
         AND ($3::text IS NULL OR (applied_at, consumer_group, msg_id) > ($3::timestamptz, $4::text, $5::text))
       ORDER BY applied_at, consumer_group, msg_id LIMIT $2`,
      [retentionMs, limit, after?.at ?? null, after?.key.group ?? null, after?.key.msgId ?? null],
    );
    const last = rows.at(-1);
    return {
      keys: rows.map((row) => ({ group: row.consumer_group, msgId: row.msg_id })),
      next: rows.length === limit && last ? { at: last.at, key: { group: last.consumer_group, msgId: last.msg_id } } : null,
    };
  }

  /** Deletes these log rows and raises the log horizon to the newest of them, in one statement. */
  async deleteLogRows(transactionIds: string[]): Promise<number> {
    if (transactionIds.length === 0) return 0;
    const rows = await this.dataSource.query<{ deleted: number }[]>(
      `WITH gone AS (DELETE FROM ${this.log} WHERE transaction_id = ANY ($1::text[]) RETURNING created_at),
            raised AS (UPDATE ${this.horizon} SET log_horizon = greatest(log_horizon, (SELECT max(created_at) FROM gone))
                       WHERE EXISTS (SELECT 1 FROM gone))
       SELECT count(*)::int AS deleted FROM gone`,
      [transactionIds],
    );
    return rows[0]?.deleted ?? 0;
  }

  /** Deletes these inbox rows and raises the inbox horizon to the newest of them, in one statement. */
  async deleteInboxRows(keys: InboxKey[]): Promise<number> {
    if (keys.length === 0) return 0;
    const rows = await this.dataSource.query<{ deleted: number }[]>(
      `WITH gone AS (DELETE FROM ${this.inbox} i USING unnest($1::text[], $2::text[]) AS k (consumer_group, msg_id)
                     WHERE i.consumer_group = k.consumer_group AND i.msg_id = k.msg_id RETURNING i.applied_at),
            raised AS (UPDATE ${this.horizon} SET inbox_horizon = greatest(inbox_horizon, (SELECT max(applied_at) FROM gone))
                       WHERE EXISTS (SELECT 1 FROM gone))
       SELECT count(*)::int AS deleted FROM gone`,
      [keys.map((key) => key.group), keys.map((key) => key.msgId)],
    );
    return rows[0]?.deleted ?? 0;
  }
}
