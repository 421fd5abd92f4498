export { EmbeddedServer, EmbeddedServerOptions } from './embedded-server';
export { freePort } from './free-port';
export { openDevPostgres, DevPostgres, databaseUrl, recreateDatabase } from './dev-postgres';
export { PostgresUserAccessError, assertPostgresUserCanReach } from './postgres-user-access';
