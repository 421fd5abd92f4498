import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerStoreError } from '../errors/broker-store.error';
import { SchemaVersionTooNewError } from '../errors/schema-version.error';
import { toHeraldError } from '../errors/store-errors';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The little migrate() needs of a connection: a pg PoolClient, or an adapter over another driver. */
export interface MigrationConnection {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  escapeIdentifier(name: string): string;
  release(): void;
}

// The package's migrations/ folder: two levels up from both src/store and dist/store.
const MIGRATIONS_DIR = join(__dirname, '..', '..', 'migrations');

/** Reads the numbered `NNN_name.sql` files of a migrations folder, in order. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{3}_[\w-]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 3)),
      name: file.replace(/\.sql$/, ''),
      sql: readFileSync(join(dir, file), 'utf8'),
    }));
}

/**
 * Brings `schema` up to the newest migration. Several processes may start at once:
 * a session advisory lock keyed on the schema serialises them, and each migration
 * runs in its own transaction together with its version row.
 */
export async function migrate(pool: { connect(): Promise<MigrationConnection> }, schema: string, migrations: Migration[] = loadMigrations()): Promise<number> {
  let client: MigrationConnection;
  try {
    client = await pool.connect();
  } catch (error) {
    throw toHeraldError('connect', error);
  }
  const ident = client.escapeIdentifier(schema);
  const lockKey = `herald.migrate.${schema}`;
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${ident}.schema_migrations (
           version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query(`SELECT coalesce(max(version), 0) AS version FROM ${ident}.schema_migrations`);
      const current = (rows[0] as { version: number } | undefined)?.version ?? 0;
      const newest = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
      if (current > newest) throw new SchemaVersionTooNewError(schema, current, newest);
      for (const migration of migrations.filter((m) => m.version > current)) {
        await client.query('BEGIN');
        try {
          await client.query(`SET LOCAL search_path TO ${ident}`);
          await client.query(migration.sql);
          await client.query(`INSERT INTO ${ident}.schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new BrokerStoreError(`migration ${migration.name}`, error);
        }
      }
      return newest;
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]);
    }
  } catch (error) {
    if (error instanceof SchemaVersionTooNewError || error instanceof BrokerStoreError) throw error;
    throw new BrokerStoreError('migrate', error);
  } finally {
    client.release();
  }
}
