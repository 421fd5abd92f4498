/** Retention and the database clock. */
import type { Db } from './db';

/** The database's clock minus `ms`: cutoffs compare with times the database stamped. */
export async function databaseTimeAgo(db: Db, ms: number): Promise<Date> {
  const { rows } = await db.query<{ at: Date }>({ name: 'herald_time_ago', text: "SELECT now() - $1 * interval '1 millisecond' AS at", values: [ms] });
  return rows[0].at;
}

/** One retention pass (a batch per queue); -1 when another runner holds the lock. */
export async function deleteExpiredMessages(db: Db, cutoff: Date, batch: number): Promise<number> {
  const { rows } = await db.query<{ deleted: string }>({
    name: 'herald_delete_expired_messages',
    text: 'SELECT delete_expired_messages($1, $2) AS deleted',
    values: [cutoff, batch],
  });
  return Number(rows[0].deleted);
}

/** Forgets transaction outcomes older than `cutoff` (a batch), and producer members gone for long. */
export async function deleteOldTransactionRecords(db: Db, cutoff: Date, batch: number): Promise<number> {
  const { rows } = await db.query<{ deleted: string }>({
    name: 'herald_delete_old_transaction_records',
    text: `WITH old AS (
             DELETE FROM resolved_transactions WHERE transaction_id IN (
               SELECT transaction_id FROM resolved_transactions WHERE resolved_at < $1 LIMIT $2)
             RETURNING 1
           ), gone_members AS (
             DELETE FROM producer_members WHERE lease_until < $1
           )
           SELECT count(*) AS deleted FROM old`,
    values: [cutoff, batch],
  });
  return Number(rows[0].deleted);
}
