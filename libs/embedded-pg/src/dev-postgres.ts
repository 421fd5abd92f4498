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
