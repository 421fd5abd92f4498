import { Pool } from 'pg';
import { migrate } from '@herald/broker/internal';
import { databaseUrl, EmbeddedServer, recreateDatabase } from '@herald/testing';
import { TEMPLATE_DATABASE, TEST_ADMIN_URL_ENV } from './test-env';

declare global {
  var __HERALD_TEST_SERVER__: EmbeddedServer | undefined;
}

/**
 * Starts ONE PostgreSQL for the whole run (or uses DATABASE_URL) and migrates a
 * template database; each test file clones it (see test-database.ts).
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const server = await EmbeddedServer.start();
    globalThis.__HERALD_TEST_SERVER__ = server;
    adminUrl = server.url('postgres');
  }
  process.env[TEST_ADMIN_URL_ENV] = adminUrl;

  await recreateDatabase(adminUrl, TEMPLATE_DATABASE);
  const pool = new Pool({ connectionString: databaseUrl(adminUrl, TEMPLATE_DATABASE), max: 1 });
  try {
    await migrate(pool, 'herald');
  } finally {
    await pool.end();
  }
}
