import { readFileSync, writeFileSync } from 'node:fs';
import { Client } from 'pg';

/**
 * The schema a migrate leaves, as text from the catalogs: tables with their columns and
 * constraints, indexes, functions (their full definitions). Compared with a committed file,
 * so that any schema change shows in review (graphile-worker keeps a dumped schema.sql the
 * same way). A catalog query rather than pg_dump: no client binary of the server's version needed.
 */
export async function describeSchema(url: string, schema: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const q = async (sql: string): Promise<string[]> => (await client.query<{ line: string }>(sql, [schema])).rows.map((r) => r.line);
    const tables = await q(`
      SELECT format(E'TABLE %s (\\n%s\\n);', c.relname,
               string_agg(format('  %s %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                 CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                                 CASE WHEN d.adbin IS NULL THEN '' ELSE ' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid) END),
                          E',\\n' ORDER BY a.attnum)) AS line
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      GROUP BY c.relname ORDER BY c.relname`);
    const constraints = await q(`
      SELECT format('CONSTRAINT %s ON %s %s;', con.conname, c.relname, pg_get_constraintdef(con.oid)) AS line
      FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND con.contype <> 'n' -- NOT NULL is in the column list (PostgreSQL 18 also records it here)
      ORDER BY c.relname, con.conname`);
    const indexes = await q(`SELECT indexdef || ';' AS line FROM pg_indexes WHERE schemaname = $1 ORDER BY tablename, indexname`);
    const functions = await q(`
      SELECT pg_get_functiondef(p.oid) || ';' AS line
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1 ORDER BY p.proname, pg_get_function_identity_arguments(p.oid)`);
    const others = await q(`
      SELECT format('%s %s;', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'RELATION ' || c.relkind::text END, c.relname) AS line
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind NOT IN ('r', 'p', 'i') ORDER BY c.relname`);
    const major = (await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0].v.slice(0, -4);
    return [
      `-- The schema "${schema}" after a migrate, from the catalogs (test/support/schema-snapshot.ts), on PostgreSQL ${major}.`,
      '-- Regenerate with UPDATE_SCHEMA_SNAPSHOT=1 after a deliberate schema change, and review the diff.',
      '',
      ...tables,
      '',
      ...constraints,
      '',
      ...indexes,
      '',
      ...others,
      '',
      FUNCTIONS_MARK,
      '',
      ...functions.flatMap((f) => [f, '']),
    ].join('\n');
  } finally {
    await client.end();
  }
}

const FUNCTIONS_MARK = '-- functions';
const serverLine = (text: string): string => text.split('\n')[0];
/** The tables, constraints and indexes alone: what reads the same on every PostgreSQL major. */
const withoutFunctions = (text: string): string => text.split('\n').slice(1).join('\n').split(FUNCTIONS_MARK)[0];

/**
 * `schema` as migrated at `url` against the committed `file` (UPDATE_SCHEMA_SNAPSHOT=1 rewrites
 * the file instead). Function definitions print a little differently across PostgreSQL majors,
 * so against another major than the snapshot's (an external DATABASE_URL) they are left out.
 */
export async function schemaAgainstSnapshot(url: string, schema: string, file: string): Promise<{ actual: string; expected: string }> {
  const actual = await describeSchema(url, schema);
  if (process.env.UPDATE_SCHEMA_SNAPSHOT === '1') writeFileSync(file, actual);
  const expected = readFileSync(file, 'utf8');
  return serverLine(actual) === serverLine(expected) ? { actual, expected } : { actual: withoutFunctions(actual), expected: withoutFunctions(expected) };
}
