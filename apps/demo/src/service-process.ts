import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The repository (or image) root: the nearest folder above this file with a package-lock.json. */
export const ROOT = findRoot(__dirname);

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package-lock.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package-lock.json above ${from}`);
  }
}

export type ServiceName = 'order' | 'inventory' | 'logistics';

/**
 * One sample service as a real child process (its compiled `dist/apps/<name>/src/main.js`,
 * built by `npm run build`), restartable on the same port. Its output lines are kept and offered to a watcher.
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly recent: string[] = [];
  /** Called with every output line (stdout and stderr). */
  onLine: (service: ServiceName, line: string) => void = () => undefined;

  constructor(
    readonly name: ServiceName,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the process and resolves once it listens; rejects with its last output if it exits first. */
  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(process.execPath, ['--enable-source-maps', resolve(ROOT, `dist/apps/${this.name}/src/main.js`)], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const ready = new Promise<void>((resolveReady, reject) => {
      const onLine = (line: string): void => {
        this.recent.push(line);
        if (this.recent.length > 40) this.recent.shift();
        this.onLine(this.name, line);
        if (line.startsWith(`READY ${this.name} `)) resolveReady();
      };
      createInterface({ input: child.stdout }).on('line', onLine);
      createInterface({ input: child.stderr }).on('line', onLine);
      child.once('exit', (code, signal) => reject(new Error(`${this.name} exited (${signal ?? code}) before it was ready:\n${this.recent.join('\n')}`)));
    });
    this.exited = new Promise((resolveExit) =>
      child.once('exit', () => {
        if (this.child === child) this.child = null;
        resolveExit();
      }),
    );
    await ready;
  }

  /** Graceful stop (SIGTERM: in-flight handlers finish, offsets commit). */
  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }

  /** A crash: SIGKILL, nothing gets to finish. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Resolves when the process has exited on its own (a fault-injected crash). */
  whenExited(): Promise<void> {
    return this.exited;
  }
}
