/** The `audit_log` table: what operators changed through the admin API. */
import type { Db } from './db';

/** One entry of the audit log: who changed what, when, and how it ended. */
export interface AuditEntry {
  id: number;
  at: Date;
  /** `console:<user>`, `cli:<user>@<host>`, or what `admin.as()` was given. */
  actor: string;
  /** `topic.create`, `topic.delete`, `group.delete`, `offset.reset`, `dlq.resend`, `dlq.purge`, `half.resolve`, `half.recheck`. */
  action: string;
  /** The topic, group or transaction id acted on. */
  target: string;
  details: Record<string, unknown>;
  /** `ok`, or `failed: <code>: <message>`. */
  outcome: string;
}

export async function recordAudit(db: Db, entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
  await db.query('INSERT INTO audit_log (actor, action, target, details, outcome) VALUES ($1, $2, $3, $4, $5)', [
    entry.actor,
    entry.action,
    entry.target,
    JSON.stringify(entry.details),
    entry.outcome,
  ]);
}

/** Newest first; `beforeId` pages back. */
export async function listAudit(db: Db, limit: number, beforeId: number | null): Promise<AuditEntry[]> {
  const { rows } = await db.query<{ id: string; at: Date; actor: string; action: string; target: string; details: Record<string, unknown>; outcome: string }>(
    'SELECT id, at, actor, action, target, details, outcome FROM audit_log WHERE $2::bigint IS NULL OR id < $2 ORDER BY id DESC LIMIT $1',
    [limit, beforeId],
  );
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}

/** Deletes entries older than `cutoff`, `batch` at most; returns how many went. */
export async function deleteOldAudit(db: Db, cutoff: Date, batch: number): Promise<number> {
  const result = await db.query('DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 ORDER BY id LIMIT $2)', [cutoff, batch]);
  return result.rowCount ?? 0;
}
