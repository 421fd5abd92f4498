import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INVENTORY_EVENTS, LOGISTICS_EVENTS, ORDER_EVENTS } from '../../apps/shared/src/contracts';
import { checkBack } from '../../apps/demo/src/scenarios';
import { readSpans } from '../../apps/demo/src/traces';
import type { SpanRecord } from '../../apps/shared/src/tracing';
import { waitFor } from '../support/wait-for';
import { adminUrl } from '../support/test-env';
import { dropCluster, startCluster } from './cluster-harness';

const SPAN_KIND_SERVER = 1;
const SPAN_KIND_PRODUCER = 3;
const SPAN_KIND_CONSUMER = 4;

const keysOf = (span: SpanRecord): unknown => span.attributes['messaging.rocketmq.message.keys'];
const statementOf = (span: SpanRecord): string => {
  const text = span.attributes['db.query.text'] ?? span.attributes['db.statement'];
  return typeof text === 'string' ? text : '';
};

/** The spans of one trace, with a lookup of each span's descendants. */
function traceOf(spans: SpanRecord[], traceId: string) {
  const inTrace = spans.filter((s) => s.traceId === traceId);
  const descendants = (root: SpanRecord): SpanRecord[] => {
    const children = inTrace.filter((s) => s.parentSpanId === root.spanId);
    return children.flatMap((child) => [child, ...descendants(child)]);
  };
  const one = (predicate: (s: SpanRecord) => boolean, what: string): SpanRecord => {
    const found = inTrace.filter(predicate);
    if (found.length !== 1)
      throw new Error(`expected one ${what} in trace ${traceId}, found ${found.length}: ${inTrace.map((s) => `${s.service}:${s.name}`).join(', ')}`);
    return found[0];
  };
  return { spans: inTrace, descendants, one };
}

/** The order's message flow, as spans: each service's process span is a child of the send that published what it handles. */
function expectMessageFlow(trace: ReturnType<typeof traceOf>, orderId: string): void {
  const created = trace.one((s) => s.service === 'order' && s.name === `send_half ${ORDER_EVENTS}`, 'OrderCreated send_half');
  expect(created.kind).toBe(SPAN_KIND_PRODUCER);
  expect(keysOf(created)).toEqual([orderId]);
  const reserving = trace.one((s) => s.service === 'inventory' && s.name === `process ${ORDER_EVENTS}`, 'inventory process span');
  expect(reserving.kind).toBe(SPAN_KIND_CONSUMER);
  expect(reserving.parentSpanId).toBe(created.spanId);
  expect(reserving.attributes).toMatchObject({ 'messaging.consumer.group.name': 'inventory', 'messaging.rocketmq.message.tag': 'OrderCreated' });

  // the @MessageListener's inbox transaction and the handler's own queries nest under the process span
  const underReserving = trace.descendants(reserving);
  const statements = underReserving.map(statementOf);
  expect(statements.some((sql) => /INSERT INTO .*inbox/i.test(sql))).toBe(true);
  expect(statements.some((sql) => /UPDATE .*stock/i.test(sql))).toBe(true);
  expect(statements.some((sql) => /^COMMIT/i.test(sql))).toBe(true);
  const reserved = underReserving.find((s) => s.name === `send_half ${INVENTORY_EVENTS}`);
  expect(reserved).toBeDefined();

  const shipping = trace.one((s) => s.service === 'logistics' && s.name === `process ${INVENTORY_EVENTS}`, 'logistics process span');
  expect(shipping.parentSpanId).toBe(reserved?.spanId);
  const shipped = trace.descendants(shipping).find((s) => s.name === `send_half ${LOGISTICS_EVENTS}`);
  expect(shipped).toBeDefined();
  const recorded = trace.one((s) => s.service === 'order' && s.name === `process ${LOGISTICS_EVENTS}`, 'order process span of ShipmentCreated');
  expect(recorded.parentSpanId).toBe(shipped?.spanId);
  expect(new Set(trace.spans.map((s) => s.service))).toEqual(new Set(['order', 'inventory', 'logistics']));
  expect(trace.spans.length).toBeGreaterThanOrEqual(5);
}

describe('the sample traced end to end (child processes, a span file per process)', () => {
  it('POST /orders → order → inventory → logistics is one trace, also when the order process is SIGKILLed between its commits and check-back commits the message', async () => {
    const traceDir = mkdtempSync(join(tmpdir(), 'herald-traces-'));
    const ctx = await startCluster(adminUrl(), { traceDir });
    try {
      // an order all the way through: the HTTP request is the root of its trace
      const { id: orderId } = await ctx.api.createOrder('customer-traced', [{ sku: 'apple', qty: 1 }]);
      await waitFor(async () => (await ctx.api.getOrder(orderId)).status === 'SHIPPED', { what: 'the traced order shipped', timeoutMs: 60_000 });
      const findSend = (spans: SpanRecord[], id: string) =>
        spans.find((s) => s.name === `send_half ${ORDER_EVENTS}` && JSON.stringify(keysOf(s)) === JSON.stringify([id]));
      await waitFor(
        () => readSpans(traceDir).some((s) => s.name === `process ${LOGISTICS_EVENTS}` && s.traceId === findSend(readSpans(traceDir), orderId)?.traceId),
        {
          what: "the order's last process span written",
          timeoutMs: 30_000,
        },
      );
      const spans = readSpans(traceDir);
      const normal = traceOf(spans, findSend(spans, orderId)?.traceId ?? '');
      const request = normal.one((s) => s.service === 'order' && s.kind === SPAN_KIND_SERVER, 'HTTP server span');
      expect(request.parentSpanId).toBeNull();
      expect(request.attributes['http.request.method']).toBe('POST');
      expectMessageFlow(normal, orderId);
      // the order's send is inside the request: the decorated method ran under it
      const created = normal.one((s) => s.name === `send_half ${ORDER_EVENTS}`, 'OrderCreated send_half');
      expect(normal.descendants(request)).toContainEqual(created);

      // the crash: the order process dies after its local commit, the half is committed by a check-back of its successor
      const crash = await checkBack(ctx);
      await waitFor(async () => (await ctx.api.getOrder(crash.orderId)).status === 'SHIPPED', { what: 'the crashed order shipped', timeoutMs: 60_000 });
      const crashedSend = (all: SpanRecord[]) => findSend(all, crash.orderId);
      await waitFor(
        () => {
          const all = readSpans(traceDir);
          return all.some((s) => s.name === `process ${LOGISTICS_EVENTS}` && s.traceId === crashedSend(all)?.traceId);
        },
        { what: "the crashed order's last process span written", timeoutMs: 30_000 },
      );
      const after = readSpans(traceDir);
      const send = crashedSend(after);
      expect(send?.attributes['messaging.message.id']).toBe(crash.committedMsgId);
      const crashed = traceOf(after, send?.traceId ?? '');
      expectMessageFlow(crashed, crash.orderId);
      // the request's server span never ended: its process was killed inside it
      expect(crashed.spans.some((s) => s.kind === SPAN_KIND_SERVER)).toBe(false);
      // two order processes wrote spans, and the new one's check-back links to the dead one's send
      const orderFiles = readdirSync(traceDir).filter((file) => file.startsWith('order-'));
      expect(orderFiles.length).toBe(2);
      const check = after.find((s) => s.name === `check ${ORDER_EVENTS}` && s.links.some((l) => l.spanId === send?.spanId));
      expect(check).toMatchObject({ service: 'order', parentSpanId: null, attributes: expect.objectContaining({ 'herald.check_back.outcome': 'COMMIT' }) });
      expect(check?.traceId).not.toBe(send?.traceId);
      // the checker's transaction-log query nests under the check-back span
      expect(
        traceOf(after, check?.traceId ?? '')
          .descendants(check as SpanRecord)
          .some((s) => statementOf(s) !== ''),
      ).toBe(true);
    } catch (error) {
      throw new Error(`${String(error)}\ndemo output:\n${ctx.output.join('\n')}`, { cause: error });
    } finally {
      await ctx.cluster.close();
      await dropCluster(adminUrl(), ctx.prefix);
      rmSync(traceDir, { recursive: true, force: true });
    }
  }, 240_000);
});
