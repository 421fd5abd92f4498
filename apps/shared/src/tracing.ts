/**
 * OpenTelemetry for a sample service, imported first by its main.ts so that `http` and `pg`
 * are instrumented before anything loads them. On only when SAMPLE_TRACE_DIR is set (the e2e
 * test, `npm start -- --traces`): every finished span is appended at once, as one JSON line,
 * to `<dir>/<service>-<pid>.jsonl`, so spans ended before a SIGKILL are kept. A real
 * deployment registers its own SDK and exporter (OTLP) instead; Herald needs nothing else.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, ExportResult, ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ReadableSpan, SimpleSpanProcessor, SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';

/** One finished span as the sample's trace files hold it. */
export interface SpanRecord {
  service: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  links: { traceId: string; spanId: string }[];
  attributes: Record<string, unknown>;
  status: { code: number; message?: string };
  startMs: number;
  endMs: number;
}

const toMs = ([seconds, nanos]: [number, number]): number => seconds * 1_000 + nanos / 1e6;

/** Appends each span synchronously: what a SIGKILL interrupts is only what had not ended. */
class JsonLinesSpanExporter implements SpanExporter {
  constructor(
    private readonly file: string,
    private readonly service: string,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const lines = spans.map((span) => {
      const record: SpanRecord = {
        service: this.service,
        name: span.name,
        kind: span.kind,
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        parentSpanId: span.parentSpanContext?.spanId ?? null,
        links: span.links.map((link) => ({ traceId: link.context.traceId, spanId: link.context.spanId })),
        attributes: { ...span.attributes },
        status: { ...span.status },
        startMs: toMs(span.startTime),
        endMs: toMs(span.endTime),
      };
      return `${JSON.stringify(record)}\n`;
    });
    try {
      appendFileSync(this.file, lines.join(''));
      done({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  async shutdown(): Promise<void> {}
}

function startTracing(dir: string, service: string): void {
  mkdirSync(dir, { recursive: true });
  const exporter = new JsonLinesSpanExporter(join(dir, `${service}-${process.pid}.jsonl`), service);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(
    new TracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
  );
  registerInstrumentations({
    instrumentations: [
      // the demo's polling of order status and the scrapes are not what a trace is for
      new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => request.method === 'GET' }),
      // only queries inside a traced operation: the broker's background loops stay out
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
}

const dir = process.env.SAMPLE_TRACE_DIR;
if (dir !== undefined && dir !== '') startTracing(dir, process.env.OTEL_SERVICE_NAME ?? 'sample');
