import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildScript } from './support/child-process';
import { adminUrl } from './support/test-env';

/** Not a timing test: only that `npm run bench -- --quick` still runs every system end to end. */
describe('benchmark suite (smoke)', () => {
  it('runs a tiny quick pass of every system and writes its JSON report', async () => {
    const out = mkdtempSync(join(tmpdir(), 'herald-bench-'));
    const child = ChildScript.start('dist/bench/run.js', { DATABASE_URL: adminUrl() }, ['--quick', '--n', '500', '--out', out]);
    try {
      await child.waitForLine(/^Wrote /, 120_000);
      expect({ exit: (await child.exited).code, stderr: child.stderrTail }).toMatchObject({ exit: 0 });
      const report = JSON.parse(readFileSync(join(out, 'latest-quick.json'), 'utf8')) as {
        results: Record<string, Record<string, { median: number } | undefined>>;
      };
      expect(Object.keys(report.results).sort()).toEqual(['Herald', 'graphile-worker', 'pg-boss']);
      // Herald's transactional paths too: the broker API and the Nest decorator
      const expected: [string, string][] = [
        ...Object.keys(report.results).flatMap((system) => ['single', 'batch', 'drain', 'live1000.p99'].map((metric): [string, string] => [system, metric])),
        ['Herald', 'transactional'],
        ['Herald', 'decorated'],
        // the long-snapshot scenario: both windows sent, and the holder's snapshot was seen
        ['Herald', 'snapshot.held'],
        ['Herald', 'snapshot.xminAge'],
      ];
      // every missing metric, by system and name, with the run's own "failed:" lines saying why
      const missing = expected
        .filter(([system, metric]) => !((report.results[system][metric]?.median ?? 0) > 0))
        .map(([system, metric]) => `${system} ${metric}: ${JSON.stringify(report.results[system][metric] ?? null)}`);
      expect({ missing, failed: child.lines.filter((line) => line.includes('failed:')) }).toEqual({ missing: [], failed: [] });
    } finally {
      await child.kill();
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('the console pages benchmark runs on a small broker and times every page', async () => {
    const child = ChildScript.start('dist/bench/console-pages.js', { DATABASE_URL: adminUrl() }, ['--quick']);
    try {
      await child.waitForLine(/^(every page under 500 ms|\d+ page\(s\) over 500 ms)$/, 120_000);
      expect({ exit: (await child.exited).code, stderr: child.stderrTail }).toMatchObject({ exit: 0 });
      for (const page of [
        'overview',
        'topics',
        'groups',
        'one group',
        'dead letters',
        'transactions',
        'search by key',
        'search by time',
        'message detail',
        'audit log',
      ]) {
        expect(child.lines.some((line) => line.startsWith(page) && / ms {2}\(/.test(line))).toBe(true);
      }
    } finally {
      await child.kill();
    }
  });
});
