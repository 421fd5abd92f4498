import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Browser, chromium, Page } from 'playwright-core';
import { Broker, MessageView } from '@herald/broker';
import { useTestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait-for';
import { adminUrl } from '../support/test-env';
import { dropCluster, startCluster } from './cluster-harness';

const db = useTestDatabase();
const ROOT = resolve(__dirname, '../..');
/** The `herald` bin of @herald/broker, the file its package.json names. */
const BIN = join(ROOT, 'libs/broker', (JSON.parse(readFileSync(join(ROOT, 'libs/broker/package.json'), 'utf8')) as { bin: { herald: string } }).bin.herald);
/** The README's screenshots come from this test: UPDATE_SCREENSHOTS=1 writes them into docs/console (then commit them). */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs/console') : join(tmpdir(), `herald-console-shots-${process.pid}`);

/** `herald console` as a child process; resolves with its URL once it listens. */
async function startConsole(args: string[], env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'console', '--port', '0', ...args], {
    env: { ...process.env, HERALD_BROKER_URL: db.url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errors: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => errors.push(line));
  const url = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^Herald console on (\S+)/.exec(line);
      if (match) done(match[1]);
    });
    child.once('exit', (code) => fail(new Error(`herald console exited ${code}: ${errors.join('\n')}`)));
  });
  return { url, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGINT');
  await new Promise((done) => child.once('exit', done));
}

/** The value of the CSRF form field on a page, with the cookie that goes with it. */
async function formToken(url: string): Promise<{ token: string; cookie: string }> {
  const res = await fetch(url);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
  const token = /name="_csrf" value="([0-9a-f]{64})"/.exec(await res.text())?.[1] ?? '';
  return { token, cookie };
}

describe('the web console', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await Broker.connect({
      connectionString: db.url,
      pollInterval: 100,
      heartbeatInterval: 200,
      sessionTimeout: 1_000,
      delayLevels: Array.from({ length: 18 }, () => 20),
    });
  });
  afterAll(async () => {
    await broker.close();
  });

  it('in headless Chromium: every page loads; search a message, resend a dead letter and see it consumed, preview and apply an offset reset, resolve a parked half', async () => {
    const topic = `console-orders-${process.pid}`;
    const group = `console-inventory-${process.pid}`;
    await broker.admin.createTopic(topic, { queues: 2 });
    let healed = false;
    const handled: MessageView[] = [];
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      maxReconsumeTimes: 0,
      offsetCommitInterval: 20,
      handler: (m) => {
        if (!healed && m.body.toString().includes('poison')) throw new TypeError('cannot reserve: sku missing');
        handled.push(m);
      },
    });
    await consumer.start();
    const producer = broker.producer({ group: 'console-p' });
    for (let i = 0; i < 6; i += 1)
      await producer.send({ topic, body: JSON.stringify({ orderId: `o-${i}`, sku: 'apple' }), keys: [`o-${i}`], tag: 'OrderCreated' });
    const poison = await producer.send({ topic, body: JSON.stringify({ orderId: 'o-poison', sku: 'poison' }), keys: ['o-poison'], tag: 'OrderCreated' });
    await waitFor(async () => (await broker.admin.listDlq(group)).length === 1, { what: 'the dead letter' });
    const tx = broker.transactionProducer({
      group: `console-tx-${process.pid}`,
      transactionTimeout: 50,
      checkInterval: 50,
      maxChecks: 1,
      checker: () => 'UNKNOWN',
    });
    await tx.start();
    const half = await tx.sendHalf({ topic, body: 'stuck order' });
    await waitFor(async () => (await broker.admin.listHalfMessages({ state: 'parked' })).some((h) => h.transactionId === half.transactionId), {
      what: 'a parked half',
    });

    const { url, child } = await startConsole([]);
    let browser: Browser | null = null;
    try {
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
      const page: Page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const origin = new URL(url).origin;
      const foreign: string[] = [];
      page.on('request', (request) => {
        if (new URL(request.url()).origin !== origin) foreign.push(request.url());
      });
      const failures: string[] = [];
      page.on('response', (response) => {
        if (response.status() >= 400) failures.push(`${response.status()} ${response.url()}`);
      });
      mkdirSync(SCREENSHOTS, { recursive: true });

      // every page through its navigation link
      await page.goto(url);
      expect(await page.textContent('h1')).toBe('Overview');
      await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });
      for (const [label, title] of [
        ['Topics', 'Topics'],
        ['Consumer groups', 'Consumer groups'],
        ['Transactions', 'Transactions'],
        ['Messages', 'Messages'],
        ['Audit log', 'Audit log'],
      ]) {
        await page.click(`header nav >> text=${label}`);
        expect(await page.textContent('h1')).toBe(title);
      }

      // search by key, open the message, see its body as JSON
      await page.click('header nav >> text=Messages');
      await page.fill('input[name=topic]', topic);
      await page.fill('input[name=key]', 'o-3');
      await page.click('text=Search the topic');
      await page.click('td a >> nth=0');
      expect(await page.textContent('h1')).toMatch(/^Message [0-9A-F]{32}$/);
      expect(await page.textContent('pre')).toContain('"orderId": "o-3"');

      // the dead letter: why it is there, resend, and consumed
      await page.goto(`${url}dlq?group=${group}`);
      expect(await page.textContent('table')).toContain('TypeError');
      expect(await page.textContent('table')).toContain('cannot reserve: sku missing');
      await page.screenshot({ path: join(SCREENSHOTS, 'dead-letters.png'), fullPage: true });
      healed = true;
      await page.check(`input[value="${poison.msgId}"]`);
      await page.click('text=Resend selected');
      expect(await page.textContent('.flash')).toBe('resent 1, not found 0, failed 0');
      await waitFor(() => handled.some((m) => m.msgId === poison.msgId), { what: 'the resent dead letter consumed' });

      // offset reset: preview first, then apply with the typed confirmation
      await page.click('header nav >> text=Consumer groups');
      await page.click(`text=${group}`);
      expect(await page.textContent('h1')).toBe(`Group ${group}`);
      await page.screenshot({ path: join(SCREENSHOTS, 'group.png'), fullPage: true });
      await page.selectOption('select[name=mode]', 'time');
      await page.fill('input[name=time]', '2000-01-01T00:00:00');
      await page.click('text=Preview');
      expect(await page.textContent('h2 >> text=Preview')).toContain(`reset ${group} on ${topic}`);
      // per queue: from, to, skipped, replayed; back to the start replays all seven messages
      const replayed = await page.locator('h2:has-text("Preview") + table tbody tr td:nth-child(5)').allTextContents();
      expect(replayed.reduce((n, cell) => n + Number(cell), 0)).toBe(7);
      const before = handled.length;
      await page.fill('input[name=confirm][placeholder^="type"] >> nth=0', group);
      await page.click('text=Apply the reset');
      expect(await page.textContent('.flash')).toMatch(/^offsets of .* moved; 1 live member\(s\) follow now$/);
      await waitFor(() => handled.length >= before + 7, { what: 'the rewound messages consumed again' });

      // the parked half: resolve it, typed
      await page.click('header nav >> text=Transactions');
      await page.screenshot({ path: join(SCREENSHOTS, 'transactions.png'), fullPage: true });
      const row = page.locator('tr', { hasText: half.transactionId });
      await row.locator('select[name=outcome]').selectOption('COMMIT');
      await row.locator('input[name=confirm]').fill('COMMIT');
      await row.locator('button', { hasText: 'Resolve' }).click();
      expect(await page.textContent('.flash')).toBe(`committed ${half.transactionId}`);
      await waitFor(() => handled.some((m) => m.msgId === half.msgId), { what: 'the committed half delivered' });

      await page.click('header nav >> text=Audit log');
      const audit = await page.textContent('table');
      for (const action of ['half.resolve', 'offset.reset', 'dlq.resend']) expect(audit).toContain(action);
      expect(audit).toContain('console:local');

      expect(foreign).toEqual([]);
      expect(failures).toEqual([]);
    } finally {
      await browser?.close();
      await stop(child);
      await consumer.shutdown();
      await tx.shutdown();
    }
  }, 120_000);

  it('enforces on the server: viewers and read-only consoles change nothing, mutations need the CSRF token and the same origin, other addresses need credentials', async () => {
    const group = `console-guarded-${process.pid}`;
    const topic = `console-guarded-${process.pid}`;
    await broker.admin.createTopic(topic, { queues: 1 });
    const consumer = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, maxReconsumeTimes: 0, handler: () => Promise.reject(new Error('no')) });
    await consumer.start();
    await broker.producer({ group: 'p' }).send({ topic, body: 'secret body' });
    await waitFor(async () => (await broker.admin.listDlq(group)).length === 1, { what: 'a dead letter' });
    const [dead] = await broker.admin.listDlq(group);
    await consumer.shutdown();
    const post = (base: string, action: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${base}${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(fields).toString(),
        redirect: 'manual',
      });

    const viewer = await startConsole(['--role', 'viewer']);
    try {
      const { token, cookie } = await formToken(`${viewer.url}dlq?group=${group}`);
      const refused = await post(viewer.url, 'resend', { group, msgId: dead.msgId, _csrf: token }, { cookie });
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('operator role needed (you are viewer)');
      // bodies are for operators
      expect(await (await fetch(`${viewer.url}message?id=${dead.msgId}`)).text()).toContain('Bodies are shown to operators and admins only');
    } finally {
      await stop(viewer.child);
    }

    const readOnly = await startConsole(['--read-only']);
    try {
      const { token, cookie } = await formToken(`${readOnly.url}dlq?group=${group}`);
      const refused = await post(readOnly.url, 'resend', { group, msgId: dead.msgId, _csrf: token }, { cookie });
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('the console is read-only');
    } finally {
      await stop(readOnly.child);
    }

    const operator = await startConsole(['--role', 'operator']);
    try {
      const { token, cookie } = await formToken(`${operator.url}dlq?group=${group}`);
      expect((await post(operator.url, 'resend', { group, msgId: dead.msgId }, { cookie })).status).toBe(403);
      expect((await post(operator.url, 'resend', { group, msgId: dead.msgId, _csrf: 'f'.repeat(64) }, { cookie })).status).toBe(403);
      expect((await post(operator.url, 'resend', { group, msgId: dead.msgId, _csrf: token }, { cookie, origin: 'http://evil.example' })).status).toBe(403);
      // an operator may not purge (admins do)
      expect((await post(operator.url, 'purge', { group, confirm: group, _csrf: token }, { cookie })).status).toBe(403);
      expect(await (await fetch(`${operator.url}message?id=${dead.msgId}`)).text()).toContain('secret body');
      const done = await post(operator.url, 'resend', { group, msgId: dead.msgId, _csrf: token }, { cookie });
      expect(done.status).toBe(200);
      expect(await done.text()).toContain('resent 1, not found 0, failed 0');
      expect((await broker.admin.listAudit()).find((e) => e.target === group && e.action === 'dlq.resend')?.actor).toBe('console:local');
    } finally {
      await stop(operator.child);
    }

    // anything but loopback needs credentials; with them, requests without are refused
    const open = spawn(process.execPath, [BIN, 'console', '--host', '0.0.0.0', '--port', '0'], {
      env: { ...process.env, HERALD_BROKER_URL: db.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    open.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((done) => open.once('exit', done));
    expect(code).toBe(2);
    expect(stderr).toMatch(/0\.0\.0\.0 is not a loopback address: give credentials/);
    const guarded = await startConsole(['--host', '0.0.0.0', '--user', 'ops'], { HERALD_CONSOLE_PASSWORD: 'correct horse battery' });
    try {
      const base = guarded.url.replace('0.0.0.0', '127.0.0.1');
      expect((await fetch(base)).status).toBe(401);
      const auth = `Basic ${Buffer.from('ops:correct horse battery').toString('base64')}`;
      expect((await fetch(base, { headers: { authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` } })).status).toBe(401);
      expect((await fetch(base, { headers: { authorization: auth } })).status).toBe(200);
    } finally {
      await stop(guarded.child);
    }
  }, 120_000);

  it('mounted in a Nest app (the sample order service) under /ops/herald behind its guard: pages and forms work there, same-origin, and nothing gets past the guard', async () => {
    const ctx = await startCluster(adminUrl());
    let browser: Browser | null = null;
    try {
      const { cluster } = ctx;
      const base = `${cluster.order.url}/ops/herald/`;
      // the app's guard answers first: no token, no console
      expect((await fetch(base)).status).toBe(401);
      // without the trailing slash: sent to the console's root, so its relative links resolve
      const bare = await fetch(`${cluster.order.url}/ops/herald`, { headers: { authorization: `Bearer ${cluster.adminToken}` }, redirect: 'manual' });
      expect(bare.status).toBe(308);
      expect(new URL(bare.headers.get('location') ?? '', `${cluster.order.url}/ops/herald`).pathname).toBe('/ops/herald/');

      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
      const page = await browser.newPage({ extraHTTPHeaders: { authorization: `Bearer ${cluster.adminToken}` } });
      const paths: string[] = [];
      page.on('request', (request) => paths.push(new URL(request.url()).origin === new URL(base).origin ? new URL(request.url()).pathname : request.url()));
      await page.goto(base);
      expect(await page.textContent('h1')).toBe('Overview');
      expect(await page.textContent('header .who')).toBe('admin-token · admin');
      await page.click('header nav >> text=Consumer groups');
      await page.click('text=inventory');
      expect(await page.textContent('h1')).toBe('Group inventory');
      // a form under the prefix: create a topic (admin), with the CSRF cookie of this path
      await page.click('header nav >> text=Topics');
      await page.fill('input[name=name]', 'created-from-the-console');
      await page.click('text=Create topic');
      expect(await page.textContent('.flash')).toBe('created topic created-from-the-console');
      expect((await cluster.broker.admin.listTopics()).some((t) => t.name === 'created-from-the-console')).toBe(true);
      expect(paths.every((p) => p.startsWith('/ops/herald/'))).toBe(true);
    } catch (error) {
      throw new Error(`${String(error)}\ndemo output:\n${ctx.output.join('\n')}`, { cause: error });
    } finally {
      await browser?.close();
      await ctx.cluster.close();
      await dropCluster(adminUrl(), ctx.prefix);
    }
  }, 120_000);
});
