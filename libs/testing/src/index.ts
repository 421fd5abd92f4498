export { EmbeddedServer } from './embedded-server';
export type { EmbeddedServerOptions } from './embedded-server';
export { freePort } from './free-port';
export { openDevPostgres, databaseUrl, recreateDatabase } from './dev-postgres';
export type { DevPostgres } from './dev-postgres';
export { PostgresUserAccessError, assertPostgresUserCanReach } from './postgres-user-access';
export { waitFor } from './wait-for';
export type { Truthy, WaitForOptions } from './wait-for';
