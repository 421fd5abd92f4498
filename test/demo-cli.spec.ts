import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

function demo(...args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['dist/apps/demo/src/main.js', ...args], {
    cwd: ROOT,
    env: process.env,
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

describe('sample service configuration', () => {
  it.each([
    [{}, /DATABASE_URL is required/],
    [{ DATABASE_URL: 'postgres://x/y', BROKER_URL: 'postgres://x/z', PORT: 'eighty' }, /PORT must be a number from 0 to 65535, got "eighty"/],
    [{ DATABASE_URL: 'postgres://x/y', BROKER_URL: 'postgres://x/z', FAULTS_ENABLED: '1', FAULT_FAIL_NEXT: 'abc' }, /FAULT_FAIL_NEXT must be a number/],
    [{ DATABASE_URL: 'postgres://x/y', BROKER_URL: 'postgres://x/z', FAULTS_ENABLED: '1', FAULT_POISON_SKU: 'a b' }, /FAULT_POISON_SKU must be a SKU/],
    [
      { DATABASE_URL: 'postgres://x/y', BROKER_URL: 'postgres://x/z', FAULTS_ENABLED: '1', FAULT_CRASH_AFTER_LOCAL_COMMIT: 'yes' },
      /FAULT_CRASH_AFTER_LOCAL_COMMIT must be 1 or 0/,
    ],
    // fault injection is refused unless switched on: a stray FAULT_* in production must not go unnoticed
    [
      { DATABASE_URL: 'postgres://x/y', BROKER_URL: 'postgres://x/z', FAULT_CRASH_AFTER_LOCAL_COMMIT: '1' },
      /FAULT_CRASH_AFTER_LOCAL_COMMIT is set but fault injection is off: set FAULTS_ENABLED=1/,
    ],
    [
      { DATABASE_URL: 'postgres://x/y', BROKER_URL: 'postgres://x/z', FAULTS_ENABLED: '0', FAULT_FAIL_NEXT: '3' },
      /FAULT_FAIL_NEXT is set but fault injection is off/,
    ],
    [{ DATABASE_URL: 'postgres://x/y', BROKER_URL: 'postgres://x/z', FAULTS_ENABLED: 'yes' }, /FAULTS_ENABLED must be 1 or 0, got "yes"/],
    [{ DATABASE_URL: 'postgres://x/y', BROKER_URL: 'postgres://x/z', ADMIN_TOKEN: 'secret' }, /ADMIN_TOKEN must be 16 to 256 printable characters/],
  ])('the order service refuses %j before it connects anywhere', (env, message) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(DATABASE_URL|BROKER_URL|PORT|FAULT|ADMIN_TOKEN)/.test(key)));
    const result = spawnSync(process.execPath, ['dist/apps/order/src/main.js'], {
      cwd: ROOT,
      env: { ...clean, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
  });
});
