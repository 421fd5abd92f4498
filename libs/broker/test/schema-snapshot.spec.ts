import { join } from 'node:path';
import { Pool } from 'pg';
import { brokerSchemaFiles, migrate } from '@herald/broker/internal';
import { schemaAgainstSnapshot } from '@herald/test-support/schema-snapshot';
import { useTestDatabase } from '@herald/test-support/test-database';

const db = useTestDatabase();
const SNAPSHOT = join(__dirname, 'schema.snapshot.sql');

describe('the broker schema', () => {
  it('is what libs/broker/test/schema.snapshot.sql says: a migration that changes it updates the snapshot too (UPDATE_SCHEMA_SNAPSHOT=1)', async () => {
    // the test database is a clone of the template that global setup migrated with the shipped files
    const { actual, expected } = await schemaAgainstSnapshot(db.url, 'herald', SNAPSHOT);
    expect(actual).toBe(expected);
  });

  it('a schema from an earlier release (functions from its migrations, retired signatures, no checksum) upgrades to the same schema', async () => {
    const pool = new Pool({ connectionString: db.url });
    try {
      // what migrations 001-006 of earlier releases left: the first move_due_messages and pop_messages signatures
      await pool.query(`CREATE FUNCTION herald.move_due_messages(p_limit int) RETURNS TABLE (moved int, next_due_in_ms double precision)
                        LANGUAGE sql AS $$ SELECT 0, NULL::double precision $$`);
      await pool.query(`CREATE FUNCTION herald.pop_messages(p_group text, p_topics text[], p_tags text[], p_max int, p_invisible_ms bigint, p_max_reconsume int)
                        RETURNS void LANGUAGE sql AS $$ SELECT $$`);
      await pool.query('DROP TABLE herald.schema_functions');
      await migrate(pool, 'herald');
    } finally {
      await pool.end();
    }
    const { actual, expected } = await schemaAgainstSnapshot(db.url, 'herald', SNAPSHOT);
    expect(actual).toBe(expected);
  });

  it('applies the functions file again only when its checksum changes', async () => {
    const pool = new Pool({ connectionString: db.url });
    const applied = async (): Promise<{ checksum: string; applied_at: Date }> =>
      (await pool.query<{ checksum: string; applied_at: Date }>(`SELECT checksum, applied_at FROM herald.schema_functions WHERE file = 'functions.sql'`))
        .rows[0];
    try {
      await migrate(pool, 'herald');
      const first = await applied();
      await migrate(pool, 'herald');
      expect(await applied()).toEqual(first);
      // a changed file (here: one more comment) is applied and recorded under its new checksum
      const files = brokerSchemaFiles();
      await migrate(pool, 'herald', { ...files, functions: { name: 'functions.sql', sql: `${files.functions?.sql}\n-- changed\n` } });
      const second = await applied();
      expect(second.checksum).not.toBe(first.checksum);
      expect(second.applied_at.getTime()).toBeGreaterThanOrEqual(first.applied_at.getTime());
    } finally {
      await pool.end();
    }
  });
});
