import { adminUrl } from '../support/test-env';
import { count, dropCluster, startCluster } from './cluster-harness';

type Ctx = Awaited<ReturnType<typeof startCluster>>;
let ctx: Ctx;

beforeAll(async () => {
  ctx = await startCluster(adminUrl());
}, 120_000);
afterAll(async () => {
  await ctx.cluster.close();
  await dropCluster(adminUrl(), ctx.prefix);
});

async function send(service: 'order' | 'inventory' | 'logistics', method: string, path: string, body?: unknown): Promise<{ status: number; message: string }> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  // authenticated, so the 400 under test is the validation's, not the guard's 401 (admin-surface.spec.ts)
  if (path.startsWith('/admin/')) headers.authorization = `Bearer ${ctx.cluster.adminToken}`;
  const response = await fetch(`${ctx.cluster.services[service].url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json = (await response.json()) as { message?: string | string[] };
  return { status: response.status, message: Array.isArray(json.message) ? json.message.join('; ') : String(json.message) };
}

/** Everything a bad request could have written, in all four databases. */
async function footprint(): Promise<number[]> {
  const { urls } = ctx.cluster;
  return Promise.all([
    count(urls.order, 'SELECT 1 FROM orders'),
    count(urls.order, 'SELECT 1 FROM herald_local.transaction_log'),
    count(urls.inventory, 'SELECT 1 FROM stock WHERE available <> 1000000 OR reserved <> 0'),
    count(urls.logistics, 'SELECT 1 FROM shipments'),
    count(urls.broker, 'SELECT 1 FROM herald.messages'),
    count(urls.broker, 'SELECT 1 FROM herald.half_messages'),
  ]);
}

const GOOD_ITEM = { sku: 'apple', qty: 1 };

describe('bad input on every endpoint: 400 with a message naming the problem, nothing written', () => {
  it.each([
    ['order', 'POST', '/orders', { items: [GOOD_ITEM] }, /customerId/],
    ['order', 'POST', '/orders', { customerId: 'c1', items: [] }, /items must contain at least 1/],
    ['order', 'POST', '/orders', { customerId: 'c1', items: [{ sku: 'apple', qty: 0 }] }, /qty must not be less than 1/],
    ['order', 'POST', '/orders', { customerId: 'c1', items: [{ sku: 'no spaces', qty: 1 }] }, /sku must be 1-32 letters/],
    ['order', 'POST', '/orders', { customerId: 'c1', items: [GOOD_ITEM], discount: 100 }, /property discount should not exist/],
    ['order', 'POST', '/orders', { customerId: "x'; DROP TABLE orders; --", items: [GOOD_ITEM] }, /customerId must be/],
    ['order', 'POST', '/orders', '{"customerId": "c1", "items": [', /JSON|Unexpected|Expected/],
    ['order', 'GET', '/orders/not-a-uuid', undefined, /uuid/],
    ['order', 'GET', '/orders/changes?since=-1', undefined, /since must not be less than 0/],
    ['order', 'GET', '/orders/changes?limit=abc', undefined, /limit must be an integer/],
    ['inventory', 'GET', `/inventory/${'x'.repeat(40)}`, undefined, /sku must be 1-32 letters/],
    ['inventory', 'PUT', '/inventory/apple', { available: -1 }, /available must not be less than 0/],
    ['inventory', 'PUT', '/inventory/apple', { available: 'lots' }, /available must be an integer/],
    ['inventory', 'POST', '/admin/faults', { failNext: -5 }, /failNext must not be less than 0/],
    ['inventory', 'POST', '/admin/faults', { explode: true }, /property explode should not exist/],
    ['order', 'POST', '/admin/faults', { crashAfterLocalCommit: 'yes' }, /crashAfterLocalCommit must be a boolean/],
    ['logistics', 'GET', '/shipments', undefined, /orderId must be a UUID/],
    ['logistics', 'GET', '/shipments?orderId=42', undefined, /orderId must be a UUID/],
  ] as const)('%s %s %s', async (service, method, path, body, message) => {
    const before = await footprint();
    const response = await send(service, method, path, body);
    expect(response.status).toBe(400);
    expect(response.message).toMatch(message);
    expect(await footprint()).toEqual(before);
  });

  it('an unknown order is a 404, not a 500', async () => {
    const response = await send('order', 'GET', '/orders/00000000-0000-4000-8000-000000000000');
    expect(response).toEqual({ status: 404, message: 'order 00000000-0000-4000-8000-000000000000 does not exist' });
  });

  it('a good order still goes through afterwards', async () => {
    const response = await fetch(`${ctx.cluster.order.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'c1', items: [GOOD_ITEM] }),
    });
    expect(response.status).toBe(201);
  });
});
