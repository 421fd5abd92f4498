import { Client } from 'pg';
import { EmbeddedServer } from './embedded-server';

export interface DevPostgres {
  /** Connection string of the `postgres` database. */
  url: string;
  /** The embedded server, when DATABASE_URL was not set. */
  server?: EmbeddedServer;
  /** Stops the embedded server (a no-op for an external one). */
  close(): Promise<void>;
}

/** `DATABASE_URL` when set, otherwise a fresh embedded server: what the demo and the benchmarks run on. */
export async function openDevPostgres(): Promise<DevPostgres> {
  const external = process.env.DATABASE_URL;
  if (external) return { url: external, close: async () => undefined };
  const server = await EmbeddedServer.start();
  return { url: server.url('postgres'), server, close: () => server.stop() };
}

/** The same server, another database. */
export function databaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Drops (disconnecting its sessions) and creates a database; `database` must be a plain identifier. */
export async function recreateDatabase(adminUrl: string, database: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new Error(`not a plain database name: ${database}`);
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
}
