import type * as Otel from '@opentelemetry/api';
import type { SpanHandle, Tracing, TracedMessage } from './tracing';
import type { BrokerLogger, LogFields, LogLevel } from '../logger';

type OtelApi = typeof Otel;

let loaded: OtelApi | null | undefined;

/** @opentelemetry/api when the app has it (an optional peer), else null; looked up once. */
export function loadOtelApi(): OtelApi | null {
  if (loaded === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require('@opentelemetry/api') as OtelApi;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

const SPAN_KIND_PRODUCER = 3;
const SPAN_KIND_CONSUMER = 4;
const STATUS_ERROR = 2;

/** Messaging semantic conventions, with RocketMQ's own attributes (never bodies). */
function attributes(topic: string, message: TracedMessage | null, operation: string, type: string): Otel.Attributes {
  const attrs: Otel.Attributes = {
    'messaging.system': 'rocketmq',
    'messaging.destination.name': topic,
    'messaging.operation.name': operation,
    'messaging.operation.type': type,
  };
  if (message !== null) {
    attrs['messaging.message.id'] = message.msgId;
    if (message.tag !== null) attrs['messaging.rocketmq.message.tag'] = message.tag;
    if (message.keys !== null) attrs['messaging.rocketmq.message.keys'] = message.keys;
    if (message.messageGroup !== null) attrs['messaging.rocketmq.message.group'] = message.messageGroup;
    attrs['messaging.rocketmq.message.type'] = message.messageGroup !== null ? 'fifo' : 'normal';
  }
  return attrs;
}

export class OtelTracing implements Tracing {
  private readonly tracer: Otel.Tracer;

  constructor(private readonly api: OtelApi) {
    this.tracer = api.trace.getTracer('@herald/broker');
  }

  async send<T>(operation: 'send' | 'send_half', topic: string, messages: TracedMessage[], send: () => Promise<T>): Promise<T> {
    const { api } = this;
    // attributes only for a recording span: without an SDK a send costs one no-op span
    const span = this.tracer.startSpan(`${operation} ${topic}`, { kind: SPAN_KIND_PRODUCER });
    if (!span.isRecording()) {
      span.end();
      return send();
    }
    span.setAttributes(attributes(topic, messages.length === 1 ? messages[0] : null, operation, 'send'));
    if (messages.length > 1) span.setAttribute('messaging.batch.message_count', messages.length);
    const spanContext = api.trace.setSpan(api.context.active(), span);
    for (const message of messages) {
      const carrier: Record<string, string> = {};
      api.propagation.inject(spanContext, carrier);
      if (Object.keys(carrier).length > 0) message.properties = { ...(message.properties ?? {}), ...carrier };
    }
    try {
      return await api.context.with(spanContext, send);
    } catch (error) {
      span.setStatus({ code: STATUS_ERROR, message: error instanceof Error ? error.message : String(error) });
      span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
      throw error;
    } finally {
      span.end();
    }
  }

  process<T>(group: string, topic: string, message: TracedMessage & { reconsumeTimes: number }, handle: (span: SpanHandle) => Promise<T>): Promise<T> {
    const { api } = this;
    const parent =
      message.properties !== null && 'traceparent' in message.properties ? api.propagation.extract(api.ROOT_CONTEXT, message.properties) : api.ROOT_CONTEXT;
    const span = this.tracer.startSpan(`process ${topic}`, { kind: SPAN_KIND_CONSUMER }, parent);
    if (!span.isRecording()) {
      span.end();
      return handle(NO_SPAN);
    }
    span.setAttributes({
      ...attributes(topic, message, 'process', 'process'),
      'messaging.consumer.group.name': group,
      'herald.reconsume_times': message.reconsumeTimes,
    });
    const handleOfSpan: SpanHandle = {
      fail(error, type) {
        span.setStatus({ code: STATUS_ERROR, message: error instanceof Error ? error.message : String(error) });
        span.setAttribute('error.type', type);
      },
    };
    return api.context.with(api.trace.setSpan(parent, span), () => handle(handleOfSpan)).finally(() => span.end());
  }
}

const NO_SPAN: SpanHandle = { fail: () => undefined };

/**
 * The broker's logger, with `trace_id` and `span_id` added to a line logged while a
 * recording span is active (a handler's failure, inside its process span), so logs and traces join up.
 */
export function withTraceIds(api: OtelApi, logger: BrokerLogger): BrokerLogger {
  return {
    log(level: LogLevel, message: string, fields?: LogFields): void {
      const span = api.trace.getActiveSpan();
      if (span === undefined || !span.isRecording()) {
        logger.log(level, message, fields);
        return;
      }
      const { traceId, spanId } = span.spanContext();
      logger.log(level, message, { ...fields, trace_id: traceId, span_id: spanId });
    },
  };
}
