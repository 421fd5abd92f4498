import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

function demo(...args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['-r', '@swc-node/register', 'apps/demo/src/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr };
}

/** `npm start` options are checked before anything starts (the runs themselves are in test/e2e). */
describe('npm start options', () => {
  it.each([
    [['--orders', 'many'], /--orders must be an integer from 1 to 1000000, got many/],
    [['--orders', '0'], /--orders must be an integer/],
    [['--scenario', 'everything'], /--scenario must be one of normal, peak, decoupling, retry, checkback, got everything/],
    [['--colour'], /Unknown option '--colour'/],
  ])('%j is refused with a clear message', (args, message) => {
    const { status, stderr } = demo(...args);
    expect(status).toBe(1);
    expect(stderr).toMatch(message);
  });
});
