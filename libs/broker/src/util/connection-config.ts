import type { ClientConfig } from 'pg';
import type { ResolvedBrokerOptions } from '../broker-options';

/** Who a broker connection works for; shown as `application_name` in `pg_stat_activity`. */
export type ConnectionRole = 'producer' | 'consumer' | 'scheduler' | 'listener' | 'migrate';

/**
 * Settings every broker connection shares: connect timeout, TCP keepalive, server-side
 * statement and lock timeouts, and a client-side query timeout a little longer than
 * the statement timeout, for a server that accepts a query and then never answers.
 * Migrations run without timeouts: they may wait for another process's migration.
 */
export function connectionConfig(options: ResolvedBrokerOptions, role: ConnectionRole): ClientConfig {
  const timed = role !== 'migrate';
  const { statementTimeout, lockTimeout } = options;
  return {
    connectionString: options.connectionString,
    options: `-c search_path=${options.schema}`,
    application_name: `${options.applicationName}:${role}`,
    connectionTimeoutMillis: options.connectTimeout,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(timed && statementTimeout > 0 ? { statement_timeout: statementTimeout, query_timeout: statementTimeout + 5_000 } : {}),
    ...(timed && lockTimeout > 0 ? { lock_timeout: lockTimeout } : {}),
  };
}
