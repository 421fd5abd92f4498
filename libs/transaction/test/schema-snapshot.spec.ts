import { join } from 'node:path';
import { Client, escapeIdentifier } from 'pg';
import { loadMigrations, migrate } from '@herald/broker/internal';
import { schemaAgainstSnapshot } from '@herald/test-support/schema-snapshot';
import { useTestDatabase } from '@herald/test-support/test-database';

const db = useTestDatabase();

describe("the service schema (transaction log, inbox, horizons in the service's own database)", () => {
  it('is what libs/transaction/test/schema.snapshot.sql says (UPDATE_SCHEMA_SNAPSHOT=1 after a deliberate change)', async () => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const connection = {
        query: async (sql: string, params?: unknown[]) => ({ rows: (await client.query(sql, params)).rows as unknown[] }),
        escapeIdentifier,
        release: () => undefined,
      };
      // what HeraldModule runs at startup (ServiceStore.migrate), with the default schema name
      await migrate({ connect: async () => connection }, 'herald_local', { migrations: loadMigrations(join(__dirname, '../migrations')) });
    } finally {
      await client.end();
    }
    const { actual, expected } = await schemaAgainstSnapshot(db.url, 'herald_local', join(__dirname, 'schema.snapshot.sql'));
    expect(actual).toBe(expected);
  });
});
