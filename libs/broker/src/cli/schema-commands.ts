/** The schema commands (which work without a migrate) and the console server. */
import { Command, Option } from 'commander';
import type * as Pg from 'pg';
import type * as ConsoleServerModule from '../console/console-server';
import { brokerSchemaFiles, migrate, schemaStatus } from '../store/migrator';
import { connectionString, GlobalOptions, lazy, parseCount, printValue, UsageError, withBroker } from './cli-context';

export function schemaCommands(program: Command): void {
  const schema = program.command('schema').description("the broker's database schema");
  schema
    .command('plans')
    .description('print the SQL of every migration and of the functions file, without connecting (for a DBA to review)')
    .action(async () => {
      const files = brokerSchemaFiles();
      for (const migration of files.migrations) process.stdout.write(`-- migration ${migration.version}: ${migration.name}\n${migration.sql.trimEnd()}\n\n`);
      if (files.functions) process.stdout.write(`-- ${files.functions.name} (applied after the migrations, when changed)\n${files.functions.sql.trimEnd()}\n`);
    });
  schema
    .command('version')
    .description('the migrations applied to the schema, against the newest this package has')
    .action(async (_options, command: Command) => {
      const g = command.optsWithGlobals<GlobalOptions>();
      const status = await withSchemaPool(g, (pool, name) => schemaStatus(pool, name));
      printValue(
        g,
        status,
        () =>
          `schema "${status.schema}": version ${status.applied} applied, ${status.newest} in this package${status.applied < status.newest ? ` (${status.newest - status.applied} pending: herald schema migrate)` : status.applied > status.newest ? ' (newer than this package)' : ''}`,
      );
    });
  schema
    .command('migrate')
    .description('apply pending migrations (what every broker does when it connects)')
    .action(async (_options, command: Command) => {
      const g = command.optsWithGlobals<GlobalOptions>();
      const version = await withSchemaPool(g, (pool, name) => migrate(pool, name));
      printValue(g, { schema: g.schema ?? 'herald', version }, () => `schema "${g.schema ?? 'herald'}" at version ${version}`);
    });
}

/** A plain pool on the broker database, for schema commands: they must work before (and without) a migrate. */
async function withSchemaPool<T>(g: GlobalOptions, work: (pool: Pg.Pool, schema: string) => Promise<T>): Promise<T> {
  const { Pool } = lazy<typeof Pg>('pg');
  const pool = new Pool({ connectionString: connectionString(g), max: 1, application_name: 'herald-cli' });
  try {
    return await work(pool, g.schema ?? 'herald');
  } finally {
    await pool.end();
  }
}
export function consoleCommand(program: Command): void {
  program
    .command('console')
    .description('serve the web console (loopback only, unless credentials are given: --user and HERALD_CONSOLE_PASSWORD)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0: any free one)', '8080')
    .option('--read-only', 'refuse every change')
    .option('--user <name>', 'require HTTP Basic credentials: this user, with the password in HERALD_CONSOLE_PASSWORD')
    .addOption(new Option('--role <role>', 'what the user may do').choices(['viewer', 'operator', 'admin']).default('admin'))
    .action(async (options: { host: string; port: string; readOnly?: boolean; user?: string; role: 'viewer' | 'operator' | 'admin' }, command: Command) => {
      const g = command.optsWithGlobals<GlobalOptions>();
      const password = process.env.HERALD_CONSOLE_PASSWORD;
      if (options.user !== undefined && (password === undefined || password === ''))
        throw new UsageError('--user needs the password in HERALD_CONSOLE_PASSWORD');
      const { startConsoleServer } = lazy<typeof ConsoleServerModule>('../console/console-server');
      await withBroker(g, async (broker) => {
        const server = await startConsoleServer({
          broker,
          host: options.host,
          port: parseCount(options.port, '--port', 0, 65_535),
          readOnly: options.readOnly === true,
          role: options.role,
          ...(options.user !== undefined && password !== undefined ? { credentials: { user: options.user, password } } : {}),
        });
        process.stdout.write(`Herald console on ${server.url} (${options.readOnly === true ? 'read-only' : options.role}); Ctrl-C stops it\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await server.close();
      });
    });
}
