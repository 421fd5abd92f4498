import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { databaseUrl, freePort, recreateDatabase } from '@herald/testing';
import { ServiceName, ServiceProcess } from '../../apps/demo/src/service-process';
import { PrivatePostgres } from '../support/private-postgres';
import { adminUrl } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { dropCluster, startCluster } from './cluster-harness';

interface Answer {
  status: number;
  text: string;
  wwwAuthenticate: string | null;
}

async function send(url: string, method: string, options: { authorization?: string; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  return { status: response.status, text: await response.text(), wwwAuthenticate: response.headers.get('www-authenticate') };
}

/** Environment that switches the admin surface off unless a test sets it (the parent's may have it). */
const ADMIN_OFF = { FAULTS_ENABLED: '', ADMIN_TOKEN: '', FAULT_FAIL_NEXT: '', FAULT_POISON_SKU: '', FAULT_CRASH_AFTER_LOCAL_COMMIT: '', NO_COLOR: '1' };

async function standalone(name: ServiceName, env: Record<string, string>): Promise<ServiceProcess> {
  const service = new ServiceProcess(name, await freePort(), { ...ADMIN_OFF, ...env });
  await service.start();
  return service;
}

describe('the admin endpoints need ADMIN_TOKEN (Authorization: Bearer)', () => {
  let ctx: Awaited<ReturnType<typeof startCluster>>;
  beforeAll(async () => {
    ctx = await startCluster(adminUrl());
  }, 120_000);
  afterAll(async () => {
    await ctx.cluster.close();
    await dropCluster(adminUrl(), ctx.prefix);
  });

  const ENDPOINTS = [
    ['order', 'GET', '/admin/faults', undefined],
    ['order', 'POST', '/admin/faults', { failNext: 0 }],
    ['inventory', 'POST', '/admin/faults', { failNext: 0 }],
    ['inventory', 'POST', '/admin/reconcile', undefined],
    ['logistics', 'POST', '/admin/reconcile', undefined],
  ] as const;

  it.each(ENDPOINTS)('%s %s %s: 401 without a token, with a wrong one or another scheme; 200 with the right one', async (service, method, path, body) => {
    const url = `${ctx.cluster.services[service].url}${path}`;
    expect((await send(url, method, { body })).status).toBe(401);
    const token = ctx.cluster.adminToken;
    const refusals = [
      `Bearer ${'0'.repeat(token.length)}`,
      'Bearer short',
      `Bearer ${token}x`,
      `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`,
      token,
    ];
    for (const authorization of refusals) {
      const answer = await send(url, method, { authorization, body });
      expect({ authorization, status: answer.status }).toEqual({ authorization, status: 401 });
      expect(answer.wwwAuthenticate).toMatch(/^Bearer/);
    }
    expect((await send(url, method, { authorization: `Bearer ${token}`, body })).status).toBe(200);
  });

  it('a bad body without the token is a 401, not a 400: nothing about the endpoint shows before authentication', async () => {
    const answer = await send(`${ctx.cluster.order.url}/admin/faults`, 'POST', { body: { failNext: -1 } });
    expect(answer.status).toBe(401);
  });

  it('POST /admin/faults {"crashAfterLocalCommit":true} without the token is no remote kill', async () => {
    const { order } = ctx.cluster;
    expect((await send(`${order.url}/admin/faults`, 'POST', { body: { crashAfterLocalCommit: true } })).status).toBe(401);
    const created = await send(`${order.url}/orders`, 'POST', { body: { customerId: 'c1', items: [{ sku: 'apple', qty: 1 }] } });
    expect(created.status).toBe(201);
    const faults = await send(`${order.url}/admin/faults`, 'GET', { authorization: `Bearer ${ctx.cluster.adminToken}` });
    expect(JSON.parse(faults.text)).toEqual({ failNext: 0, poisonSku: null, crashAfterLocalCommit: false });
  });
});

describe('without FAULTS_ENABLED or ADMIN_TOKEN the endpoints do not exist', () => {
  const prefix = `e2e_admin_${randomBytes(3).toString('hex')}`;
  const url = (name: string): string => databaseUrl(adminUrl(), `${prefix}_${name}`);
  const started: ServiceProcess[] = [];
  const token = randomBytes(24).toString('hex');

  beforeAll(async () => {
    for (const name of ['order', 'inventory', 'broker']) await recreateDatabase(adminUrl(), `${prefix}_${name}`);
  });
  afterAll(async () => {
    for (const service of started) await service.stop();
    await dropCluster(adminUrl(), prefix);
  });

  it('fault injection off (ADMIN_TOKEN set): /admin/faults is a 404 even with the right token', async () => {
    const order = await standalone('order', { DATABASE_URL: url('order'), BROKER_URL: url('broker'), ADMIN_TOKEN: token });
    started.push(order);
    for (const method of ['GET', 'POST']) {
      const answer = await send(`${order.url}/admin/faults`, method, {
        authorization: `Bearer ${token}`,
        body: method === 'POST' ? { crashAfterLocalCommit: true } : undefined,
      });
      expect({ method, status: answer.status }).toEqual({ method, status: 404 });
    }
    expect((await send(`${order.url}/orders`, 'POST', { body: { customerId: 'c1', items: [{ sku: 'apple', qty: 1 }] } })).status).toBe(201);
  });

  it('no ADMIN_TOKEN: /admin/reconcile and /admin/faults are 404s, whatever the request carries', async () => {
    const inventory = await standalone('inventory', { DATABASE_URL: url('inventory'), BROKER_URL: url('broker'), FAULTS_ENABLED: '1' });
    started.push(inventory);
    for (const path of ['/admin/reconcile', '/admin/faults']) {
      for (const authorization of [undefined, `Bearer ${token}`]) {
        const answer = await send(`${inventory.url}${path}`, 'POST', { authorization });
        expect({ path, authorization, status: answer.status }).toEqual({ path, authorization, status: 404 });
      }
    }
  });

  it('a FAULT_* variable without FAULTS_ENABLED=1 is refused at start with a configuration error', async () => {
    const order = new ServiceProcess('order', await freePort(), {
      ...ADMIN_OFF,
      DATABASE_URL: url('order'),
      BROKER_URL: url('broker'),
      FAULT_CRASH_AFTER_LOCAL_COMMIT: '1',
    });
    started.push(order);
    await expect(order.start()).rejects.toThrow(/FAULT_CRASH_AFTER_LOCAL_COMMIT is set but fault injection is off: set FAULTS_ENABLED=1/);
  });
});

describe('/health of a service whose database refuses it or is gone: no host, port or role in the answer', () => {
  it('reports a generic reason while PostgreSQL refuses the roles, recovers, and again once PostgreSQL is killed', async () => {
    const postgres = await PrivatePostgres.start();
    let postgresUp = true;
    const server = new URL(postgres.url);
    const tag = `svc_${randomBytes(3).toString('hex')}`;
    const roles = { service: `${tag}_order`, broker: `${tag}_broker` };
    const roleUrl = (role: string): string => {
      const url = new URL(postgres.url);
      url.username = role;
      url.password = `${role}-pw`;
      url.pathname = `/${role}`;
      return url.toString();
    };
    const admin = new Client({ connectionString: postgres.url });
    await admin.connect();
    let service: ServiceProcess | null = null;
    try {
      // one role per database, owner of it, as in docker/init-databases.sql
      for (const role of Object.values(roles)) {
        await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${role}-pw'`);
        await admin.query(`CREATE DATABASE ${role} OWNER ${role}`);
      }
      service = await standalone('order', { DATABASE_URL: roleUrl(roles.service), BROKER_URL: roleUrl(roles.broker) });
      const healthUrl = `${service.url}/health`;
      await waitFor(async () => (await send(healthUrl, 'GET')).status === 200, { timeoutMs: 30_000, intervalMs: 200, what: '/health to be up' });

      /** Several /health answers while both indicators are down: each pool retries its login on every check. */
      const downAnswers = async (what: string): Promise<{ texts: string[]; reasons: unknown[] }> => {
        const texts: string[] = [];
        await waitFor(
          async () => {
            const answer = await send(healthUrl, 'GET');
            const details = (JSON.parse(answer.text) as { details: Record<string, { status: string }> }).details;
            if (answer.status === 503 && details.database.status === 'down' && details.herald.status === 'down') texts.push(answer.text);
            return texts.length >= 3;
          },
          { timeoutMs: 30_000, intervalMs: 200, what },
        );
        const reasons = texts.flatMap((text) =>
          Object.values((JSON.parse(text) as { details: Record<string, { reason?: unknown }> }).details).map((d) => d.reason),
        );
        return { texts, reasons };
      };

      // the roles may no longer log in (a rotated or revoked credential): the driver names the role
      for (const role of Object.values(roles)) {
        await admin.query(`ALTER ROLE ${role} NOLOGIN`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
      }
      const refused = await downAnswers('/health to report the refused logins');
      for (const text of refused.texts) {
        for (const secret of [...Object.values(roles), 'not permitted', 'password']) expect(text).not.toContain(secret);
      }
      for (const reason of refused.reasons) expect(['unreachable', 'timeout', 'error']).toContain(reason);

      for (const role of Object.values(roles)) await admin.query(`ALTER ROLE ${role} LOGIN`);
      await waitFor(async () => (await send(healthUrl, 'GET')).status === 200, { timeoutMs: 30_000, intervalMs: 200, what: '/health to recover' });

      // PostgreSQL gone: the driver names the host and port it could not reach
      await admin.end();
      await postgres.stop();
      postgresUp = false;
      const gone = await downAnswers('/health to report PostgreSQL gone');
      for (const text of gone.texts) {
        for (const secret of [server.hostname, server.port, 'localhost', 'ECONNREFUSED', ...Object.values(roles)]) expect(text).not.toContain(secret);
      }
      expect(gone.reasons).toContain('unreachable');
      for (const reason of gone.reasons) expect(['unreachable', 'timeout', 'error']).toContain(reason);
    } finally {
      await service?.kill();
      if (postgresUp) {
        await admin.end().catch(() => undefined);
        await postgres.stop();
      }
    }
  }, 180_000);
});
