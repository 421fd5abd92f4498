import { ChildScript } from './child-process';
import { waitFor } from './wait-for';

/**
 * A PostgreSQL server of the calling test file's own, for tests that crash or
 * restart it without disturbing the shared server other files use.
 */
export class PrivatePostgres {
  private restarts = 0;

  private constructor(
    private readonly child: ChildScript,
    readonly url: string,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const child = ChildScript.start('test/fixtures/postgres-server.child.ts');
    const line = await child.waitForLine(/^url /, 60_000);
    return new PrivatePostgres(child, line.slice(4));
  }

  /** Immediate-mode shutdown (like a crash: no checkpoint), then start again. */
  async crashAndRestart(): Promise<void> {
    this.restarts += 1;
    const expected = this.restarts;
    this.child.send('crash-restart');
    await waitFor(() => this.child.lines.filter((l) => l === 'restarted').length >= expected, {
      timeoutMs: 60_000,
      what: 'PostgreSQL restarted',
    });
  }

  async stop(): Promise<void> {
    this.child.send('stop');
    await Promise.race([this.child.waitForLine(/^stopped$/, 30_000).catch(() => undefined), this.child.exited]);
    await this.child.kill('SIGKILL');
  }
}
