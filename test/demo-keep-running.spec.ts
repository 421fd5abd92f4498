import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '@herald/test-support/wait-for';
import { adminUrl } from './support/test-env';

const ROOT = join(__dirname, '..');

describe('npm start -- --keep-running', () => {
  it("prints where each service serves /metrics, and those URLs answer with Herald metrics; with --traces, the first order's trace", async () => {
    const traces = mkdtempSync(join(tmpdir(), 'herald-demo-traces-'));
    const child = spawn(process.execPath, ['dist/apps/demo/src/main.js', '--scenario', 'normal', '--keep-running', '--traces', traces], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: adminUrl(), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
    child.stderr.resume();
    try {
      const line = await waitFor(() => lines.find((l) => l.includes('metrics (Prometheus text):')), { timeoutMs: 120_000, what: 'the metrics line' });
      const urls = [...line.matchAll(/http:\/\/127\.0\.0\.1:\d+\/metrics/g)].map((m) => m[0]);
      expect(urls).toHaveLength(3);
      for (const url of urls) {
        const response = await fetch(url);
        expect(response.status).toBe(200);
        expect(await response.text()).toMatch(/^# HELP herald_messages_in_total /m);
      }
      // the console, mounted in the order service behind the admin token
      const consoleLine = lines.find((l) => l.includes('console: '));
      const [, consoleUrl, token] = /console: (\S+) \(send Authorization: Bearer (\S+)\)/.exec(consoleLine ?? '') ?? [];
      expect((await fetch(consoleUrl)).status).toBe(401);
      const overview = await fetch(consoleUrl, { headers: { authorization: `Bearer ${token}` } });
      expect(overview.status).toBe(200);
      expect(await overview.text()).toContain('<h1>Overview</h1>');
      // the request, then each service's process span under the send it handles
      const summary = lines.find((l) => l.startsWith("the first order's trace "));
      expect(summary).toMatch(/: \d+ spans across inventory, logistics, order$/);
      const tree = lines.slice(lines.indexOf(summary as string) + 1).filter((l) => /^ {2}\S/.test(l) || /^ {4,}\S/.test(l));
      expect(tree[0]).toMatch(/^ {2}order +POST/);
      expect(tree.some((l) => /^ {4,}inventory +process /.test(l))).toBe(true);
      expect(tree.some((l) => /^ {4,}logistics +process /.test(l))).toBe(true);
      expect(readdirSync(traces).filter((file) => file.endsWith('.jsonl')).length).toBe(3);
    } finally {
      child.kill('SIGINT');
      if (child.exitCode === null) await once(child, 'exit');
      rmSync(traces, { recursive: true, force: true });
    }
  }, 180_000);
});
