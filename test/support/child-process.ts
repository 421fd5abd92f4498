import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(__dirname, '../..');

/**
 * A script running as a real child process: compiled JavaScript (`dist/…`) as is, a
 * TypeScript test fixture or example through the test runner's @swc-node/register.
 */
export class ChildScript {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';
  private readonly listeners = new Set<() => void>();

  private constructor(readonly process: ChildProcess) {
    createInterface({ input: process.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const listener of this.listeners) listener();
    });
    process.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8_000);
    });
    this.exited = new Promise((resolveExit) => process.on('exit', (code, signal) => resolveExit({ code, signal })));
  }

  /** Starts `script` (a path relative to the repository root) with extra environment variables and arguments. */
  static start(script: string, env: Record<string, string> = {}, args: string[] = []): ChildScript {
    const loader = script.endsWith('.ts') ? ['-r', '@swc-node/register'] : ['--enable-source-maps'];
    const child = spawn(process.execPath, [...loader, resolve(ROOT, script), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, SWC_NODE_PROJECT: resolve(ROOT, 'tsconfig.json') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new ChildScript(child);
  }

  /** Waits for a stdout line matching `pattern`; fails with the child's stderr if it exits first. */
  waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    return new Promise((resolveLine, reject) => {
      const check = (): boolean => {
        const line = this.lines.find((l) => pattern.test(l));
        if (line === undefined) return false;
        cleanup();
        resolveLine(line);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`child did not print ${pattern} within ${timeoutMs} ms; stderr:\n${this.stderr}`));
      }, timeoutMs);
      const onExit = (): void => {
        if (check()) return;
        cleanup();
        reject(new Error(`child exited before printing ${pattern}; stderr:\n${this.stderr}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        this.process.off('exit', onExit);
      };
      const listener = (): void => void check();
      this.listeners.add(listener);
      this.process.on('exit', onExit);
      check();
    });
  }

  /** Writes one line to the child's stdin. */
  send(line: string): void {
    this.process.stdin!.write(`${line}\n`);
  }

  /** Kills the child the hard way and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
    await this.exited;
  }

  get stderrTail(): string {
    return this.stderr;
  }
}
