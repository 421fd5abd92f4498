import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { InvalidMessageError, MessageView } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, queryStore, RecordingLogger, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

async function storedProperties(topic: string): Promise<Record<string, string>[]> {
  const rows = await queryStore<{ properties: Record<string, string> | null }>(
    db,
    'SELECT properties FROM herald.messages WHERE topic = $1 ORDER BY queue_offset',
    [topic],
  );
  return rows.map((row) => row.properties ?? {});
}

describe('tracing (OpenTelemetry)', () => {
  it('without an SDK registered nothing is written into messages, and user properties named like the trace context are refused', async () => {
    const broker = await openBroker();
    const topic = uniqueName('untraced');
    await broker.admin.createTopic(topic, { queues: 1 });
    const producer = broker.producer({ group: 'p' });
    await producer.send({ topic, body: 'x', properties: { a: '1' } });
    expect(await storedProperties(topic)).toEqual([{ a: '1' }]);
    await expect(producer.send({ topic, body: 'x', properties: { traceparent: '00-abc' } })).rejects.toMatchObject({
      constructor: InvalidMessageError,
      field: 'properties.traceparent',
    });
  });

  describe('with an SDK registered', () => {
    const exporter = new InMemorySpanExporter();
    beforeAll(() => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      // what NodeSDK registers by default: trace context and baggage
      propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
      trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
    });
    afterAll(() => {
      trace.disable();
      propagation.disable();
      context.disable();
    });
    beforeEach(() => exporter.reset());

    const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
    const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

    it('send opens a PRODUCER span under the caller’s, the message carries it, and the handler runs in a CONSUMER span under it; a retry is a new span with the same parent', async () => {
      const broker = await openBroker();
      const topic = uniqueName('traced');
      const group = uniqueName('traced-readers');
      await broker.admin.createTopic(topic, { queues: 1 });
      const seen: MessageView[] = [];
      const consumer = broker.pushConsumer({
        group,
        subscriptions: { [topic]: '*' },
        handler: async (m) => {
          seen.push(m);
          // the handler's own work nests under the process span
          await trace.getTracer('test').startActiveSpan('db write', async (span) => span.end());
          if (seen.length === 1) throw new Error('first attempt fails');
        },
      });
      await consumer.start();
      const producer = broker.producer({ group: 'p' });
      const tracer = trace.getTracer('test');
      const receipt = await tracer.startActiveSpan('POST /orders', async (request) => {
        try {
          return await producer.send({ topic, body: 'order', tag: 'OrderCreated', keys: ['order-1'], properties: { a: '1' } });
        } finally {
          request.end();
        }
      });
      await waitFor(() => spans(`process ${topic}`).length === 2, { what: 'two process spans (a failure, then the retry)', timeoutMs: 20_000 });

      const [request] = spans('POST /orders');
      const [send] = spans(`send ${topic}`);
      expect(send.kind).toBe(SpanKind.PRODUCER);
      expect(parentOf(send)).toBe(request.spanContext().spanId);
      expect(send.attributes).toMatchObject({
        'messaging.system': 'rocketmq',
        'messaging.destination.name': topic,
        'messaging.operation.type': 'send',
        'messaging.message.id': receipt.msgId,
        'messaging.rocketmq.message.tag': 'OrderCreated',
      });
      const [stored] = await storedProperties(topic);
      expect(stored.traceparent).toBe(`00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`);
      // reserved properties stay the broker's: the handler sees the user's only
      expect(seen[0].properties).toEqual({ a: '1' });

      const processed = spans(`process ${topic}`).sort(
        (a, b) => Number(a.attributes['herald.reconsume_times']) - Number(b.attributes['herald.reconsume_times']),
      );
      for (const span of processed) {
        expect(span.kind).toBe(SpanKind.CONSUMER);
        expect(span.spanContext().traceId).toBe(send.spanContext().traceId);
        expect(parentOf(span)).toBe(send.spanContext().spanId);
        expect(span.attributes).toMatchObject({
          'messaging.consumer.group.name': group,
          'messaging.operation.type': 'process',
          'messaging.message.id': receipt.msgId,
        });
      }
      expect(processed.map((s) => s.attributes['herald.reconsume_times'])).toEqual([0, 1]);
      expect(processed[0].status.code).toBe(SpanStatusCode.ERROR);
      expect(processed[0].attributes['error.type']).toBe('Error');
      expect(processed[1].status.code).not.toBe(SpanStatusCode.ERROR);
      const writes = spans('db write');
      expect(writes.map(parentOf).sort()).toEqual(processed.map((s) => s.spanContext().spanId).sort());
    });

    it("a handler's failure is logged with the trace_id and span_id of its process span", async () => {
      const logger = new RecordingLogger();
      const broker = await openBroker({ logger });
      const topic = uniqueName('traced-logs');
      await broker.admin.createTopic(topic, { queues: 1 });
      let calls = 0;
      const consumer = broker.pushConsumer({
        group: uniqueName('log-readers'),
        subscriptions: { [topic]: '*' },
        handler: () => {
          calls += 1;
          if (calls === 1) throw new Error('stock service down');
        },
      });
      await consumer.start();
      await broker.producer({ group: 'p' }).send({ topic, body: 'x' });
      await waitFor(() => spans(`process ${topic}`).length === 2, { what: 'the failure and its retry', timeoutMs: 20_000 });
      const failed = spans(`process ${topic}`).find((s) => s.attributes['herald.reconsume_times'] === 0);
      const line = logger.lines.find((l) => l.message === 'handler failed; message will be retried');
      expect(line?.fields).toMatchObject({ trace_id: failed?.spanContext().traceId, span_id: failed?.spanContext().spanId });
      // lines logged outside any span carry no ids
      expect(logger.lines.filter((l) => l.message !== 'handler failed; message will be retried').every((l) => l.fields?.trace_id === undefined)).toBe(true);
    });

    it('a dead letter resent from the DLQ is processed under the span that sent it', async () => {
      const broker = await openBroker();
      const topic = uniqueName('traced-dlq');
      const group = uniqueName('dlq-readers');
      await broker.admin.createTopic(topic, { queues: 1 });
      let poisoned = true;
      const consumer = broker.pushConsumer({
        group,
        subscriptions: { [topic]: '*' },
        maxReconsumeTimes: 0,
        handler: () => {
          if (poisoned) throw new Error('poison');
        },
      });
      await consumer.start();
      await trace.getTracer('test').startActiveSpan('checkout', async (span) => {
        try {
          await broker.producer({ group: 'p' }).send({ topic, body: 'x' });
        } finally {
          span.end();
        }
      });
      await waitFor(async () => (await broker.admin.listDlq(group)).length === 1, { what: 'the message in the DLQ' });
      poisoned = false;
      expect((await broker.admin.resendDlq(group, 'all')).resent).toBe(1);
      await waitFor(() => spans(`process ${topic}`).length === 2, { what: 'the resent message processed', timeoutMs: 20_000 });
      const [send] = spans(`send ${topic}`);
      const processed = spans(`process ${topic}`);
      expect(processed.map(parentOf)).toEqual([send.spanContext().spanId, send.spanContext().spanId]);
      expect(processed.map((p) => p.status.code === SpanStatusCode.ERROR)).toEqual([true, false]);
    });

    it('a half committed by check-back, after the sending span ended, is delivered under that span; the check-back is a root span linked to it', async () => {
      const broker = await openBroker();
      const topic = uniqueName('traced-tx');
      await broker.admin.createTopic(topic, { queues: 1 });
      const delivered: MessageView[] = [];
      const consumer = broker.pushConsumer({ group: uniqueName('tx-readers'), subscriptions: { [topic]: '*' }, handler: (m) => void delivered.push(m) });
      await consumer.start();
      const group = uniqueName('tx-traced');
      const checker = async (): Promise<'COMMIT'> => {
        // the checker's own work (its transaction-log query) nests under the check-back span
        await trace.getTracer('test').startActiveSpan('read transaction log', async (span) => span.end());
        return 'COMMIT';
      };
      const tx = broker.transactionProducer({ group, transactionTimeout: 50, checkInterval: 50, checker });
      await tx.start();
      await trace.getTracer('test').startActiveSpan('place order', async (span) => {
        try {
          await tx.sendHalf({ topic, body: 'pending order' });
        } finally {
          span.end();
        }
      });
      // the delivery may end before the check-back's span does: it ends once the commit returns
      await waitFor(() => spans(`process ${topic}`).length === 1 && spans(`check ${topic}`).length === 1, {
        what: 'the check-back commit delivered, and its span ended',
        timeoutMs: 20_000,
      });
      const [half] = spans(`send_half ${topic}`);
      const [placed] = spans('place order');
      const [processed] = spans(`process ${topic}`);
      expect(parentOf(half)).toBe(placed.spanContext().spanId);
      expect(half.attributes['messaging.rocketmq.message.type']).toBe('transaction');
      expect(processed.spanContext().traceId).toBe(placed.spanContext().traceId);
      expect(parentOf(processed)).toBe(half.spanContext().spanId);
      expect(delivered).toHaveLength(1);

      const [check] = spans(`check ${topic}`);
      expect(parentOf(check)).toBeUndefined();
      expect(check.spanContext().traceId).not.toBe(placed.spanContext().traceId);
      expect(check.links.map((l) => l.context.spanId)).toEqual([half.spanContext().spanId]);
      expect(check.attributes).toMatchObject({ 'herald.check_back.outcome': 'COMMIT', 'messaging.rocketmq.client_group': group });
      const [read] = spans('read transaction log');
      expect(parentOf(read)).toBe(check.spanContext().spanId);
    });

    it('a check-back whose checker throws or stalls marks its span failed, and the half is checked again', async () => {
      const broker = await openBroker();
      const topic = uniqueName('traced-tx-fail');
      await broker.admin.createTopic(topic, { queues: 1 });
      let calls = 0;
      const checker = async (): Promise<'COMMIT'> => {
        calls += 1;
        if (calls === 1) throw new TypeError('log table missing');
        if (calls === 2) await new Promise((resolve) => setTimeout(resolve, 1_000));
        return 'COMMIT';
      };
      const tx = broker.transactionProducer({ group: uniqueName('tx-failing'), transactionTimeout: 50, checkInterval: 50, checkTimeout: 200, checker });
      await tx.start();
      await tx.sendHalf({ topic, body: 'x' });
      await waitFor(() => spans(`check ${topic}`).length >= 3, { what: 'three check-backs', timeoutMs: 20_000 });
      const checks = spans(`check ${topic}`).sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
      expect(checks.slice(0, 3).map((c) => [c.attributes['herald.check_back.outcome'], c.attributes['error.type'], c.status.code])).toEqual([
        ['error', 'TypeError', SpanStatusCode.ERROR],
        ['timeout', 'timeout', SpanStatusCode.ERROR],
        ['COMMIT', undefined, SpanStatusCode.UNSET],
      ]);
    });

    it('useLinks: the process span starts its own trace, linked to the sending span', async () => {
      const broker = await openBroker({ tracing: { useLinks: true } });
      const topic = uniqueName('traced-links');
      await broker.admin.createTopic(topic, { queues: 1 });
      const consumer = broker.pushConsumer({ group: uniqueName('link-readers'), subscriptions: { [topic]: '*' }, handler: () => undefined });
      await consumer.start();
      await broker.producer({ group: 'p' }).send({ topic, body: 'x' });
      await waitFor(() => spans(`process ${topic}`).length === 1, { what: 'the process span', timeoutMs: 20_000 });
      const [send] = spans(`send ${topic}`);
      const [processed] = spans(`process ${topic}`);
      expect(parentOf(processed)).toBeUndefined();
      expect(processed.spanContext().traceId).not.toBe(send.spanContext().traceId);
      expect(processed.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[send.spanContext().traceId, send.spanContext().spanId]]);
    });

    it('a simple consumer: receive links to each message it returns, ack is a settle span under the caller linked to its message', async () => {
      const broker = await openBroker();
      const topic = uniqueName('traced-simple');
      await broker.admin.createTopic(topic, { queues: 1 });
      const group = uniqueName('simple-readers');
      const consumer = broker.simpleConsumer({ group, subscriptions: { [topic]: '*' }, consumeFromWhere: 'FIRST_OFFSET' });
      const producer = broker.producer({ group: 'p' });
      const tracer = trace.getTracer('test');
      for (const order of ['order-1', 'order-2']) {
        await tracer.startActiveSpan(`create ${order}`, async (span) => {
          await producer.send({ topic, body: order });
          span.end();
        });
      }
      const sends = spans(`send ${topic}`);
      await tracer.startActiveSpan('poll', async (poll) => {
        const received = await consumer.receive({ maxMessages: 2, awaitDuration: 5_000 });
        expect(received.map((m) => m.body.toString())).toEqual(['order-1', 'order-2']);
        expect(received[0].properties).toEqual({});
        for (const message of received) await consumer.ack(message);
        poll.end();
      });
      const [poll] = spans('poll');
      const [receive] = spans(`receive ${topic}`);
      expect(receive.kind).toBe(SpanKind.CLIENT);
      expect(parentOf(receive)).toBe(poll.spanContext().spanId);
      expect(receive.attributes).toMatchObject({
        'messaging.operation.type': 'receive',
        'messaging.batch.message_count': 2,
        'messaging.consumer.group.name': group,
      });
      expect(receive.links.map((l) => l.context.spanId)).toEqual(sends.map((s) => s.spanContext().spanId));
      const acks = spans(`ack ${topic}`);
      expect(acks.map(parentOf)).toEqual([poll.spanContext().spanId, poll.spanContext().spanId]);
      expect(acks.map((a) => a.attributes['messaging.operation.type'])).toEqual(['settle', 'settle']);
      expect(acks.map((a) => a.links[0]?.context.spanId)).toEqual(sends.map((s) => s.spanContext().spanId));
    });

    it('baggage is carried only on opt-in, and stays within its size bound', async () => {
      const topic = uniqueName('traced-baggage');
      const withBaggage = (entries: Record<string, string>) =>
        propagation.setBaggage(context.active(), propagation.createBaggage(Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, { value: v }]))));
      const plain = await openBroker();
      await plain.admin.createTopic(topic, { queues: 1 });
      await context.with(withBaggage({ tenant: 'acme' }), () => plain.producer({ group: 'p' }).send({ topic, body: 'no baggage' }));
      const opted = await openBroker({ tracing: { baggage: true } });
      await context.with(withBaggage({ tenant: 'acme' }), () => opted.producer({ group: 'p' }).send({ topic, body: 'baggage' }));
      await context.with(withBaggage({ big: 'x'.repeat(9_000) }), () => opted.producer({ group: 'p' }).send({ topic, body: 'too much baggage' }));
      const stored = await storedProperties(topic);
      expect(stored.map((p) => p.baggage)).toEqual([undefined, 'tenant=acme', undefined]);
      expect(stored.every((p) => typeof p.traceparent === 'string')).toBe(true);

      const tenants: (string | undefined)[] = [];
      const consumer = opted.pushConsumer({
        group: uniqueName('baggage-readers'),
        subscriptions: { [topic]: '*' },
        consumeFromWhere: 'FIRST_OFFSET',
        handler: (m) => {
          expect(m.properties).toEqual({});
          tenants.push(propagation.getActiveBaggage()?.getEntry('tenant')?.value);
        },
      });
      await consumer.start();
      await waitFor(() => tenants.length === 3, { what: 'three deliveries', timeoutMs: 20_000 });
      expect(tenants).toEqual([undefined, 'acme', undefined]);
      await expect(opted.producer({ group: 'p' }).send({ topic, body: 'x', properties: { baggage: 'a=1' } })).rejects.toMatchObject({
        constructor: InvalidMessageError,
        field: 'properties.baggage',
      });
    });

    it('tracing.tracerProvider: spans go to the given provider, not the global one', async () => {
      const own = new InMemorySpanExporter();
      const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: own })] });
      const broker = await openBroker({ tracing: { tracerProvider } });
      const topic = uniqueName('traced-own');
      await broker.admin.createTopic(topic, { queues: 1 });
      await broker.producer({ group: 'p' }).send({ topic, body: 'x' });
      expect(own.getFinishedSpans().map((s) => s.name)).toEqual([`send ${topic}`]);
      expect(spans(`send ${topic}`)).toEqual([]);
      const [stored] = await storedProperties(topic);
      expect(stored.traceparent).toContain(own.getFinishedSpans()[0].spanContext().spanId);
      await expect(openBroker({ tracing: { tracerProvider: {} as never } })).rejects.toMatchObject({ field: 'tracing.tracerProvider' });
    });

    it('tracing: false records nothing and writes nothing, even with an SDK registered', async () => {
      const broker = await openBroker({ tracing: false });
      const topic = uniqueName('traced-off');
      await broker.admin.createTopic(topic, { queues: 1 });
      let handled = 0;
      const consumer = broker.pushConsumer({ group: uniqueName('off-readers'), subscriptions: { [topic]: '*' }, handler: () => void (handled += 1) });
      await consumer.start();
      await trace.getTracer('test').startActiveSpan('request', async (span) => {
        await broker.producer({ group: 'p' }).send({ topic, body: 'x' });
        span.end();
      });
      await waitFor(() => handled === 1, { what: 'the delivery', timeoutMs: 20_000 });
      expect(await storedProperties(topic)).toEqual([{}]);
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['request']);
    });
  });
});
