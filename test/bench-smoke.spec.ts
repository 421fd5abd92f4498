import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildScript } from './support/child-process';
import { adminUrl } from './support/test-env';

/** Not a timing test: only that `npm run bench -- --quick` still runs every system end to end. */
describe('benchmark suite (smoke)', () => {
  it('runs a tiny quick pass of every system and writes its JSON report', async () => {
    const out = mkdtempSync(join(tmpdir(), 'herald-bench-'));
    const child = ChildScript.start('bench/run.ts', { DATABASE_URL: adminUrl() }, ['--quick', '--n', '500', '--out', out]);
    try {
      await child.waitForLine(/^Wrote /, 120_000);
      expect((await child.exited).code).toBe(0);
      const report = JSON.parse(readFileSync(join(out, 'latest-quick.json'), 'utf8')) as { results: Record<string, Record<string, { median: number } | undefined>> };
      expect(Object.keys(report.results).sort()).toEqual(['Herald', 'graphile-worker', 'pg-boss']);
      for (const system of Object.values(report.results)) {
        for (const metric of ['single', 'batch', 'drain', 'live1000.p99']) expect(system[metric]?.median).toBeGreaterThan(0);
      }
      // Herald's transactional paths: the broker API and the Nest decorator
      expect(report.results.Herald.transactional?.median).toBeGreaterThan(0);
      expect(report.results.Herald.decorated?.median).toBeGreaterThan(0);
    } finally {
      await child.kill();
      rmSync(out, { recursive: true, force: true });
    }
  });
});
