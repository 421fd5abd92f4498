import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { databaseUrl } from '@herald/testing';
import { adminUrl, TEMPLATE_DATABASE } from './test-env';

async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh database cloned from the migrated template; returns its connection string. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `herald_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`));
  return {
    name,
    url: databaseUrl(adminUrl(), name),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/**
 * Gives the calling test file its own database for all its tests: created in
 * beforeAll, dropped in afterAll. Read `.url` inside tests.
 */
export function useTestDatabase(): { readonly url: string } {
  const handle = { url: '' };
  let drop: (() => Promise<void>) | null = null;
  beforeAll(async () => {
    const db = await createTestDatabase();
    handle.url = db.url;
    drop = db.drop;
  });
  afterAll(async () => {
    await drop?.();
  });
  return handle;
}
