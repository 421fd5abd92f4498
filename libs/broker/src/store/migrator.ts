import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaMigrationError } from '../errors/schema-migration.error';
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

/** A schema's files: numbered migrations (tables and indexes), and the file of its functions' current forms. */
export interface SchemaFiles {
  migrations: Migration[];
  functions?: { name: string; sql: string };
}

// The package's migrations/ and sql/ folders: two levels up from both src/store and dist/store.
const PACKAGE_DIR = join(__dirname, '..', '..');
const MIGRATIONS_DIR = join(PACKAGE_DIR, 'migrations');

/** The broker schema: migrations/NNN_*.sql, then sql/functions.sql. */
export function brokerSchemaFiles(): SchemaFiles {
  return { migrations: loadMigrations(), functions: { name: 'functions.sql', sql: readFileSync(join(PACKAGE_DIR, 'sql', 'functions.sql'), 'utf8') } };
}

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
 * Brings `schema` up to the newest migration, then (re)applies the functions file when its
 * checksum differs from the one recorded (or a migration ran). Several processes may start
 * at once: a session advisory lock keyed on the schema serialises them; each migration runs
 * in its own transaction with its version row, the functions file in one with its checksum.
 */
export async function migrate(pool: { connect(): Promise<MigrationConnection> }, schema: string, files: SchemaFiles = brokerSchemaFiles()): Promise<number> {
  const { migrations, functions } = files;
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
      const pending = migrations.filter((m) => m.version > current);
      for (const migration of pending) {
        await inTransaction(client, schema, migration.name, async () => {
          await client.query(`SET LOCAL search_path TO ${ident}`);
          await client.query(migration.sql);
          await client.query(`INSERT INTO ${ident}.schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
        });
      }
      if (functions) await applyFunctions(client, schema, functions, pending.length > 0);
      return newest;
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]);
    }
  } catch (error) {
    if (error instanceof SchemaVersionTooNewError || error instanceof SchemaMigrationError) throw error;
    throw new SchemaMigrationError(schema, 'the schema lock and version check', error);
  } finally {
    client.release();
  }
}

async function inTransaction(client: MigrationConnection, schema: string, step: string, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await work();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new SchemaMigrationError(schema, step, error);
  }
}

/** `CREATE OR REPLACE`s every function of the file unless the same file is recorded as applied already. */
async function applyFunctions(client: MigrationConnection, schema: string, file: { name: string; sql: string }, migrated: boolean): Promise<void> {
  const ident = client.escapeIdentifier(schema);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${ident}.schema_functions (
       file text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const checksum = createHash('sha256').update(file.sql).digest('hex');
  const { rows } = await client.query(`SELECT checksum FROM ${ident}.schema_functions WHERE file = $1`, [file.name]);
  if (!migrated && (rows[0] as { checksum: string } | undefined)?.checksum === checksum) return;
  await inTransaction(client, schema, file.name, async () => {
    await client.query(`SET LOCAL search_path TO ${ident}`);
    await client.query(file.sql);
    await client.query(
      `INSERT INTO ${ident}.schema_functions (file, checksum) VALUES ($1, $2)
       ON CONFLICT (file) DO UPDATE SET checksum = excluded.checksum, applied_at = now()`,
      [file.name, checksum],
    );
  });
}

export interface SchemaStatus {
  schema: string;
  /** The newest migration applied (0: none, or no schema). */
  applied: number;
  /** The newest migration this package has. */
  newest: number;
  migrations: { version: number; name: string; appliedAt: Date }[];
}

/** What a schema has applied, read without migrating (a missing schema has applied nothing). */
export async function schemaStatus(
  db: { query: MigrationConnection['query'] },
  schema: string,
  files: SchemaFiles = brokerSchemaFiles(),
): Promise<SchemaStatus> {
  const newest = files.migrations.length === 0 ? 0 : files.migrations[files.migrations.length - 1].version;
  const { rows: found } = await db.query('SELECT to_regclass($1) IS NOT NULL AS present', [`"${schema.replace(/"/g, '""')}".schema_migrations`]);
  if ((found[0] as { present: boolean }).present !== true) return { schema, applied: 0, newest, migrations: [] };
  const { rows } = await db.query(`SELECT version, name, applied_at FROM "${schema.replace(/"/g, '""')}".schema_migrations ORDER BY version`);
  const migrations = (rows as { version: number; name: string; applied_at: Date }[]).map((row) => ({
    version: row.version,
    name: row.name,
    appliedAt: row.applied_at,
  }));
  return { schema, applied: migrations.at(-1)?.version ?? 0, newest, migrations };
}
