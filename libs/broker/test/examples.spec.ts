import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildScript } from '@herald/test-support/child-process';
import { useTestDatabase } from '@herald/test-support/test-database';

const db = useTestDatabase();

describe('documentation examples', () => {
  it("the README's API block is libs/broker/examples/quick-start.ts, the file this suite runs", () => {
    const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
    const example = readFileSync(join(__dirname, '../examples/quick-start.ts'), 'utf8');
    const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
    expect(blocks).toContain(example);
  });

  it('the README quick start runs and its consumer receives the message', async () => {
    const child = ChildScript.start('libs/broker/examples/quick-start.ts', { BROKER_URL: db.url });
    try {
      await child.waitForLine(/^stored as [0-9A-F]{32} at queue \d, offset 0$/);
      await child.waitForLine(/^OrderCreated order-1: \{"orderId":"order-1","total":42\}$/);
      expect((await child.exited).code).toBe(0);
    } finally {
      await child.kill();
    }
  });

  it('the README feature tour runs end to end', async () => {
    const child = ChildScript.start('libs/broker/examples/features.ts', { BROKER_URL: db.url });
    try {
      await child.waitForLine(/^delayed message delivered$/, 60_000);
      expect((await child.exited).code).toBe(0);
      expect(child.lines).toEqual(
        expect.arrayContaining([
          'sql filter: big',
          'orderly: created -> paid -> shipped',
          'broadcasting: a=1 b=1',
          'simple consumer: received 1, acked',
          'query by key: 1 message(s)',
          'dlq: resent 1, handled after the fix',
          'reset offset: 4 queues rewound',
        ]),
      );
      expect(child.lines.some((line) => /^delayed: offset -1 until \d{4}-/.test(line))).toBe(true);
      expect(child.lines.some((line) => /^dlq: [0-9A-F]{32} failed with Error: cannot handle yet$/.test(line))).toBe(true);
      expect(child.lines.some((line) => /^reset offset preview: \d+ message\(s\) to consume again$/.test(line))).toBe(true);
    } finally {
      await child.kill();
    }
  });

  it('the README transactional example commits its half message', async () => {
    const child = ChildScript.start('libs/broker/examples/transactional.ts', { BROKER_URL: db.url });
    try {
      await child.waitForLine(/^pending halves: 0$/, 30_000);
      expect(child.lines.some((line) => /^committed [0-9A-F]{32} at offset \d+$/.test(line))).toBe(true);
      expect((await child.exited).code).toBe(0);
    } finally {
      await child.kill();
    }
  });
});
