import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '@herald/test-support/wait-for';
import { adminUrl } from './support/test-env';

const ROOT = join(__dirname, '..');

describe('npm start -- --keep-running', () => {
  it('prints where each service serves /metrics, and those URLs answer with Herald metrics', async () => {
    const child = spawn(process.execPath, ['dist/apps/demo/src/main.js', '--scenario', 'normal', '--keep-running'], {
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
    } finally {
      child.kill('SIGINT');
      if (child.exitCode === null) await once(child, 'exit');
    }
  }, 180_000);
});
