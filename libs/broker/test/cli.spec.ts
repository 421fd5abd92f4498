import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MessageView } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);
/** The package's `herald` bin, the file its package.json names (what npm links into node_modules/.bin). */
const BIN = resolve(__dirname, '..', (JSON.parse(readFileSync(resolve(__dirname, '../package.json'), 'utf8')) as { bin: { herald: string } }).bin.herald);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `herald` binary in a child process (not a TTY), without blocking this process's consumers. */
function herald(args: string[], env: Record<string, string> = { HERALD_BROKER_URL: db.url }): Promise<Run> {
  return new Promise((done, fail) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'DATABASE_URL' && key !== 'HERALD_BROKER_URL'));
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', fail);
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

const json = <T>(run: Run): T => {
  if (run.status !== 0) throw new Error(`herald exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
};

describe('the herald CLI (its real binary, in a child process)', () => {
  it('answers --help, and refuses bad usage with exit 2, unknown things with exit 3, each with the error code', async () => {
    const help = await herald(['--help'], {});
    expect(help.status).toBe(0);
    for (const command of ['topic', 'group', 'msg', 'offset', 'dlq', 'tx', 'schema']) expect(help.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    expect(await herald(['bogus'], {})).toMatchObject({ status: 2, stderr: expect.stringMatching(/unknown command 'bogus'/) });
    expect(await herald(['topic', 'list'], {})).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/pass --url, or set HERALD_BROKER_URL or DATABASE_URL/),
    });
    // DATABASE_URL is the last fallback
    expect((await herald(['topic', 'list', '--json'], { DATABASE_URL: db.url })).status).toBe(0);
    expect(await herald(['topic', 'create', 'bad name'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/^herald: INVALID_TOPIC_NAME: /m) });
    expect(await herald(['group', 'progress', 'nobody-here'])).toMatchObject({ status: 3, stderr: expect.stringMatching(/^herald: GROUP_NOT_FOUND: /m) });
    expect(await herald(['msg', 'get', 'F'.repeat(32)])).toMatchObject({ status: 3, stderr: expect.stringMatching(/is not stored/) });
    expect(await herald(['msg', 'by-time', 'orders', '--from', 'yesterday'])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/--from must be an ISO time/),
    });
  });

  it('topics and messages: create, send, get, by key, by time, tail; tables by default, JSON on request', async () => {
    const topic = uniqueName('cli-orders');
    expect(await herald(['topic', 'create', topic, '--queues', '2'])).toMatchObject({ status: 0, stdout: `created topic ${topic}\n` });
    const sent = json<{ msgId: string; queueId: number }>(
      await herald(['msg', 'send', topic, '--body', '{"orderId":7}', '--tag', 'OrderCreated', '--key', 'order-7', '--property', 'region=eu', '--json']),
    );
    await herald(['msg', 'send', topic, '--body', 'second', '--key', 'order-8']);
    const got = json<{ msgId: string; body: string; tag: string; keys: string[]; properties: Record<string, string>; trace: { stored: unknown[] } }>(
      await herald(['msg', 'get', sent.msgId, '--json']),
    );
    expect(got).toMatchObject({ msgId: sent.msgId, body: '{"orderId":7}', tag: 'OrderCreated', keys: ['order-7'], properties: { region: 'eu' } });
    expect(got.trace.stored).toHaveLength(1);

    const byKey = await herald(['msg', 'by-key', topic, 'order-7']);
    expect(byKey.stdout.split('\n')[0]).toMatch(/^MSG_ID +QID +OFFSET +TAG +KEYS +STORED_AT +BYTES$/);
    expect(byKey.stdout).toContain(sent.msgId);
    const byTime = (await herald(['msg', 'by-time', topic, '--from', '-5m', '--ndjson'])).stdout.trim().split('\n');
    expect(byTime.map((line) => (JSON.parse(line) as { body: string }).body).sort()).toEqual(['second', '{"orderId":7}'].sort());

    const listed = json<{ name: string; queues: number; messages: number }[]>(await herald(['topic', 'list', '--json']));
    expect(listed.find((t) => t.name === topic)).toEqual({ name: topic, queues: 2, messages: 2 });
    const status = await herald(['topic', 'status', topic]);
    expect(status.stdout).toMatch(/^QID +MIN_OFFSET +MAX_OFFSET +MESSAGES$/m);
    expect(status.stdout).toMatch(/^In TPS: /m);

    // tail: what is already there from --from, then what arrives while it follows
    const tail = herald(['msg', 'tail', topic, '--from', '-5m', '--count', '3', '--interval', '50', '--ndjson']);
    const broker = await openBroker();
    await waitFor(async () => (await broker.admin.listTopics()).some((t) => t.name === topic), { what: 'the topic' });
    await broker.producer({ group: 'p' }).send({ topic, body: 'third' });
    const tailed = await tail;
    expect(tailed.status).toBe(0);
    expect(
      tailed.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { body: string }).body)
        .sort(),
    ).toEqual(['second', 'third', '{"orderId":7}'].sort());

    // destructive: refused without --yes when there is no terminal to ask; done with it
    expect(await herald(['topic', 'delete', topic])).toMatchObject({ status: 2, stderr: expect.stringMatching(/refused without --yes/) });
    expect(await herald(['topic', 'delete', topic, '--yes'])).toMatchObject({ status: 0 });
    expect(await herald(['topic', 'delete', topic, '--yes'])).toMatchObject({ status: 3 });
  });

  it("groups, progress (mqadmin's consumerProgress columns), offset reset with a dry run, and lag 0 after --latest", async () => {
    const broker = await openBroker();
    const topic = uniqueName('cli-progress');
    const group = uniqueName('cli-readers');
    await broker.admin.createTopic(topic, { queues: 2 });
    const consumer = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, offsetCommitInterval: 20, handler: () => undefined });
    await consumer.start();
    const producer = broker.producer({ group: 'p' });
    await producer.sendBatch(Array.from({ length: 4 }, (_, i) => ({ topic, body: `m${i}` })));
    await waitFor(async () => (await broker.admin.groupProgress(group)).every((q) => q.lag === 0), { what: 'consumed' });
    await consumer.shutdown();
    await producer.sendBatch(Array.from({ length: 3 }, (_, i) => ({ topic, body: `late${i}` })));

    const groups = json<{ group: string; lag: number; liveMembers: number }[]>(await herald(['group', 'list', '--json']));
    expect(groups.find((g) => g.group === group)).toMatchObject({ lag: 3, liveMembers: 0 });
    const progress = await herald(['group', 'progress', group]);
    expect(progress.stdout.split('\n')[0]).toMatch(/^#TOPIC +#QID +#BROKER_OFFSET +#CONSUMER_OFFSET +#CLIENT +#DIFF +#LAG_AGE_MS$/);
    expect(progress.stdout).toMatch(/^Diff Total: 3$/m);
    expect(progress.stdout).toMatch(/^Consume TPS: /m);

    const preview = json<{ applied: boolean; queues: { skipped: number }[] }>(
      await herald(['offset', 'reset', group, topic, '--latest', '--dry-run', '--json']),
    );
    expect(preview.applied).toBe(false);
    expect(preview.queues.reduce((n, q) => n + q.skipped, 0)).toBe(3);
    expect(await herald(['offset', 'reset', group, topic, '--latest'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/refused without --yes/) });
    expect(await herald(['offset', 'reset', group, topic, '--latest', '--to-time', '-1h', '--yes'])).toMatchObject({ status: 2 });
    const applied = await herald(['offset', 'reset', group, topic, '--latest', '--yes']);
    expect(applied).toMatchObject({ status: 0, stdout: expect.stringMatching(/no live member: the next to start begins there/) });
    const after = json<{ diffTotal: number; queues: { lag: number }[] }>(await herald(['group', 'progress', group, '--json']));
    expect(after.diffTotal).toBe(0);
    expect(after.queues.filter((q) => q.lag !== 0)).toEqual([]);
    const explicit = await herald(['offset', 'reset', group, topic, '--to-offset', '0=0', '--yes', '--json']);
    expect(json<{ queues: { queueId: number; to: number }[] }>(explicit).queues.find((q) => q.queueId === 0)?.to).toBe(0);

    // the audit log names the CLI as the actor
    const audit = await broker.admin.listAudit();
    expect(audit.find((e) => e.action === 'offset.reset' && e.target === group)?.actor).toMatch(/^cli:/);
    expect(await herald(['group', 'delete', group, '--yes'])).toMatchObject({ status: 0, stdout: `deleted group ${group}\n` });
  });

  it('dead letters: list with the last error, resend with a per-message report, export NDJSON to a file, purge', async () => {
    const broker = await openBroker();
    const topic = uniqueName('cli-dlq');
    const group = uniqueName('cli-dlq-readers');
    await broker.admin.createTopic(topic, { queues: 1 });
    let healed = false;
    const handled: MessageView[] = [];
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      maxReconsumeTimes: 0,
      handler: (m) => {
        if (!healed) throw new RangeError('quantity out of range');
        handled.push(m);
      },
    });
    await consumer.start();
    const producer = broker.producer({ group: 'p' });
    const first = await producer.send({ topic, body: Buffer.from([0, 1, 2, 255]) });
    await producer.send({ topic, body: 'two' });
    await waitFor(async () => (await broker.admin.listDlq(group)).length === 2, { what: 'two dead letters' });

    const list = await herald(['dlq', 'list', group]);
    expect(list.stdout).toMatch(/^MSG_ID +TOPIC +TAG +ATTEMPTS +STORED_AT +LAST_ERROR$/m);
    expect(list.stdout).toContain('RangeError: quantity out of range');

    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
    try {
      const file = join(dir, 'dlq.ndjson');
      const exported = await herald(['dlq', 'export', group, '--out', file]);
      expect(exported).toMatchObject({ status: 0, stderr: `exported 2 dead letter(s) to ${file}\n` });
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { msgId: string; body: string; lastError: { type: string } });
      expect(lines.map((l) => Buffer.from(l.body, 'base64'))).toEqual([Buffer.from([0, 1, 2, 255]), Buffer.from('two')]);
      expect(lines[0]).toMatchObject({ msgId: first.msgId, lastError: { type: 'RangeError' } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    healed = true;
    const missing = '0'.repeat(32);
    const report = json<{ resent: number; notFound: number; results: { msgId: string; outcome: string }[] }>(
      await herald(['dlq', 'resend', group, first.msgId, missing, '--json']),
    );
    expect(report).toMatchObject({ resent: 1, notFound: 1 });
    expect(report.results).toEqual([
      { msgId: first.msgId, outcome: 'resent' },
      { msgId: missing, outcome: 'not found' },
    ]);
    await waitFor(() => handled.length === 1, { what: 'the resent dead letter consumed' });
    expect(handled[0].body).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(await herald(['dlq', 'resend', group])).toMatchObject({ status: 2, stderr: expect.stringMatching(/say which dead letters/) });
    expect(await herald(['dlq', 'purge', group, '--yes'])).toMatchObject({ status: 0, stdout: 'deleted 2 dead letter(s)\n' });
  });

  it('transactions: stats, list parked halves, resolve one by hand; schema version, plans (no connection) and migrate', async () => {
    const broker = await openBroker();
    const topic = uniqueName('cli-tx');
    const group = uniqueName('cli-tx-producers');
    await broker.admin.createTopic(topic, { queues: 1 });
    const tx = broker.transactionProducer({ group, transactionTimeout: 50, checkInterval: 50, maxChecks: 1, checker: () => 'UNKNOWN' });
    await tx.start();
    const half = await tx.sendHalf({ topic, body: 'stuck' });
    await waitFor(async () => (await broker.admin.listHalfMessages({ state: 'parked', group })).length === 1, { what: 'the half parked' });

    const parked = json<{ transactionId: string; state: string }[]>(await herald(['tx', 'list', '--state', 'parked', '--group', group, '--json']));
    expect(parked).toEqual([expect.objectContaining({ transactionId: half.transactionId, state: 'parked' })]);
    const stats = json<{ producerGroup: string; parked: number }[]>(await herald(['tx', 'stats', '--json']));
    expect(stats.find((s) => s.producerGroup === group)?.parked).toBe(1);
    expect(await herald(['tx', 'recheck', half.transactionId])).toMatchObject({ status: 0, stdout: `${half.transactionId} goes back to check-back\n` });
    expect(await herald(['tx', 'recheck', '00000000-0000-4000-8000-000000000000'])).toMatchObject({ status: 3 });
    expect(await herald(['tx', 'resolve', half.transactionId, '--outcome', 'MAYBE', '--yes'])).toMatchObject({ status: 2 });
    expect(await herald(['tx', 'resolve', half.transactionId, '--outcome', 'COMMIT', '--yes'])).toMatchObject({
      status: 0,
      stdout: `committed ${half.transactionId}\n`,
    });
    expect(await herald(['tx', 'resolve', '00000000-0000-4000-8000-000000000000', '--outcome', 'COMMIT', '--yes'])).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(/TRANSACTION_NOT_FOUND/),
    });
    expect((await broker.admin.queryMessagesByKey(topic, 'none')).length).toBe(0);
    expect((await herald(['msg', 'get', half.msgId])).status).toBe(0);

    const version = json<{ applied: number; newest: number }>(await herald(['schema', 'version', '--json']));
    expect(version.applied).toBe(version.newest);
    expect(version.newest).toBeGreaterThanOrEqual(10);
    const fresh = `cli_fresh_${process.pid}`;
    expect(json<{ applied: number }>(await herald(['schema', 'version', '--schema', fresh, '--json'])).applied).toBe(0);
    expect(await herald(['schema', 'migrate', '--schema', fresh])).toMatchObject({ status: 0, stdout: `schema "${fresh}" at version ${version.newest}\n` });
    // plans needs no database at all
    const plans = await herald(['schema', 'plans'], {});
    expect(plans.status).toBe(0);
    expect(plans.stdout).toMatch(/^-- migration 9: 009_admin$/m);
    expect(plans.stdout).toContain('CREATE TABLE audit_log');
  });
});
