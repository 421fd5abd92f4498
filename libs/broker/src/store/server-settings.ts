import type { BrokerLogger } from '../logger';
import type { Db } from './db';

/**
 * Settings under which "nothing acknowledged is lost" silently stops holding, read on
 * a broker session (so per-database and per-role overrides count): each one off is
 * logged as a warning at connect. Also the gap between this host's clock and the
 * database's, which decides every stored time: instants a caller passes in
 * (consumeTimestamp, resetOffset) are compared with it.
 */
export async function checkServerSettings(db: Db, logger: BrokerLogger): Promise<void> {
  const { rows } = await db.query<{ synchronous_commit: string; fsync: string; full_page_writes: string; db_ms: number }>(
    `SELECT current_setting('synchronous_commit') AS synchronous_commit, current_setting('fsync') AS fsync,
            current_setting('full_page_writes') AS full_page_writes, (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS db_ms`,
  );
  const row = rows[0];
  const unsafe: [string, string, string][] = [
    ['synchronous_commit', row.synchronous_commit, 'off'],
    ['fsync', row.fsync, 'off'],
    ['full_page_writes', row.full_page_writes, 'off'],
  ];
  for (const [setting, value, bad] of unsafe) {
    if (value === bad) {
      logger.log('warn', `${setting} is ${value} on the broker database: acknowledged messages can be lost in a server crash`, { setting, value });
    }
  }
  const skewMs = Math.round(Date.now() - row.db_ms);
  if (Math.abs(skewMs) > 1_000) {
    logger.log('warn', "this host's clock differs from the broker database's; stored times and the instants you pass are read on the database clock", {
      skewMs,
    });
  }
}
