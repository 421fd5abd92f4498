import type * as Otel from '@opentelemetry/api';
import { CheckSpanHandle, SpanHandle, Tracing, TracedMessage, TRACE_PROPERTIES } from './tracing';
import type { ResolvedTracingOptions } from './tracing-options';
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

// SpanKind and SpanStatusCode values, so this module needs no runtime import of the optional peer
const SPAN_KIND_INTERNAL = 0;
const SPAN_KIND_CLIENT = 2;
const SPAN_KIND_PRODUCER = 3;
const SPAN_KIND_CONSUMER = 4;
const STATUS_ERROR = 2;
/** W3C baggage's own limit on the header; larger baggage is not stored. */
const MAX_BAGGAGE_BYTES = 8_192;

/** RocketMQ's message types, as its client instrumentation reports them. */
function messageType(message: TracedMessage, operation: string): string {
  if (operation === 'send_half') return 'transaction';
  if (message.messageGroup !== null) return 'fifo';
  return message.delayMs !== undefined && message.delayMs > 0 ? 'delay' : 'normal';
}

/** Messaging semantic conventions, with RocketMQ's own attributes (never bodies); `attrs` may hold more already. */
function attributes(topic: string, message: TracedMessage | null, operation: string, type: string, attrs: Otel.Attributes = {}): Otel.Attributes {
  attrs['messaging.system'] = 'rocketmq';
  attrs['messaging.destination.name'] = topic;
  attrs['messaging.operation.name'] = operation;
  attrs['messaging.operation.type'] = type;
  if (message !== null) {
    attrs['messaging.message.id'] = message.msgId;
    if (message.tag !== null) attrs['messaging.rocketmq.message.tag'] = message.tag;
    if (message.keys !== null && message.keys.length > 0) attrs['messaging.rocketmq.message.keys'] = message.keys;
    if (message.messageGroup !== null) attrs['messaging.rocketmq.message.group'] = message.messageGroup;
    attrs['messaging.rocketmq.message.type'] = messageType(message, operation);
  }
  return attrs;
}

/** Reads only the broker's trace properties out of a message's properties, without copying them. */
const TRACE_GETTER: Otel.TextMapGetter<Record<string, string>> = {
  get: (carrier, key) => (TRACE_PROPERTIES.includes(key) ? carrier[key] : undefined),
  keys: (carrier) => TRACE_PROPERTIES.filter((name) => name in carrier),
};

function failSpan(span: Otel.Span, error: unknown, type: string): void {
  span.setStatus({ code: STATUS_ERROR, message: error instanceof Error ? error.message : String(error) });
  span.setAttribute('error.type', type);
}

/** Runs `run` and ends the span when it settles; a rejection marks the span failed with the error's name. */
async function endWhenSettled<T>(span: Otel.Span, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    failSpan(span, error, error instanceof Error ? error.name : 'Error');
    throw error;
  } finally {
    span.end();
  }
}

export class OtelTracing implements Tracing {
  private readonly tracer: Otel.Tracer;

  constructor(
    private readonly api: OtelApi,
    private readonly options: ResolvedTracingOptions,
  ) {
    // a given provider's tracers are the API's Tracer; only the option's type is structural
    this.tracer = options.tracerProvider !== null ? (options.tracerProvider.getTracer('@herald/broker') as Otel.Tracer) : api.trace.getTracer('@herald/broker');
  }

  send<T>(operation: 'send' | 'send_half', topic: string, messages: TracedMessage[], send: () => Promise<T>): Promise<T> {
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
    const carrier = this.inject(spanContext);
    if (carrier !== null) {
      // messages without properties share the carrier: it is only read from here on
      for (const message of messages) message.properties = message.properties === null ? carrier : { ...message.properties, ...carrier };
    }
    return endWhenSettled(span, () => api.context.with(spanContext, send));
  }

  process<T>(group: string, topic: string, message: TracedMessage & { reconsumeTimes: number }, handle: (span: SpanHandle) => Promise<T>): Promise<T> {
    const { api } = this;
    const carried = this.extract(message);
    const span = this.options.useLinks
      ? this.tracer.startSpan(`process ${topic}`, { kind: SPAN_KIND_CONSUMER, root: true, links: this.linksTo([carried]) })
      : this.tracer.startSpan(`process ${topic}`, { kind: SPAN_KIND_CONSUMER }, carried);
    if (!span.isRecording()) {
      span.end();
      return handle(NO_SPAN);
    }
    span.setAttributes(
      attributes(topic, message, 'process', 'process', { 'messaging.consumer.group.name': group, 'herald.reconsume_times': message.reconsumeTimes }),
    );
    const handleOfSpan: SpanHandle = { fail: (error, type) => failSpan(span, error, type) };
    // the handler sees the carried baggage (when opted in) whichever way the span is parented
    return api.context.with(api.trace.setSpan(carried, span), () => handle(handleOfSpan)).finally(() => span.end());
  }

  checkBack<T>(group: string, message: TracedMessage & { transactionId: string }, check: (span: CheckSpanHandle) => Promise<T>): Promise<T> {
    const { api } = this;
    const carried = this.extract(message);
    const span = this.tracer.startSpan(`check ${message.topic}`, { kind: SPAN_KIND_INTERNAL, root: true, links: this.linksTo([carried]) });
    if (!span.isRecording()) {
      span.end();
      return check(NO_CHECK_SPAN);
    }
    span.setAttributes({
      ...attributes(message.topic, message, 'check', 'process'),
      'messaging.rocketmq.client_group': group,
      'messaging.rocketmq.message.type': 'transaction',
      'herald.transaction_id': message.transactionId,
    });
    const handleOfSpan: CheckSpanHandle = {
      fail: (error, type) => failSpan(span, error, type),
      answered: (outcome) => span.setAttribute('herald.check_back.outcome', outcome),
    };
    return api.context.with(api.trace.setSpan(api.ROOT_CONTEXT, span), () => check(handleOfSpan)).finally(() => span.end());
  }

  receive<R>(group: string, topics: readonly string[], receive: () => Promise<R[]>, tracedOf: (received: R) => TracedMessage): Promise<R[]> {
    const name = topics.length === 1 ? `receive ${topics[0]}` : 'receive';
    const span = this.tracer.startSpan(name, { kind: SPAN_KIND_CLIENT });
    if (!span.isRecording()) {
      span.end();
      return receive();
    }
    span.setAttributes({
      ...attributes(topics.length === 1 ? topics[0] : topics.join(','), null, 'receive', 'receive'),
      'messaging.consumer.group.name': group,
    });
    return endWhenSettled(span, async () => {
      const received = await receive();
      span.setAttribute('messaging.batch.message_count', received.length);
      span.addLinks(this.linksTo(received.map((r) => this.extract(tracedOf(r)))));
      return received;
    });
  }

  settle<T>(operation: 'ack' | 'change_invisible_duration', group: string, message: TracedMessage, settle: () => Promise<T>): Promise<T> {
    const span = this.tracer.startSpan(`${operation} ${message.topic}`, { kind: SPAN_KIND_CLIENT, links: this.linksTo([this.extract(message)]) });
    if (!span.isRecording()) {
      span.end();
      return settle();
    }
    span.setAttributes({ ...attributes(message.topic, message, operation, 'settle'), 'messaging.consumer.group.name': group });
    return endWhenSettled(span, settle);
  }

  /** The trace properties to store for `context`; null when the propagator writes none. */
  private inject(context: Otel.Context): Record<string, string> | null {
    const { api } = this;
    const written: Record<string, string> = {};
    api.propagation.inject(this.options.baggage ? context : api.propagation.deleteBaggage(context), written);
    let carrier: Record<string, string> | null = null;
    // only the W3C fields are carried: they are the ones reserved from users and hidden from consumers
    for (const name of TRACE_PROPERTIES) {
      const value = written[name];
      if (value === undefined || (name === 'baggage' && Buffer.byteLength(value) > MAX_BAGGAGE_BYTES)) continue;
      (carrier ??= {})[name] = value;
    }
    return carrier;
  }

  /** The context a message carries (ROOT_CONTEXT when none); its baggage only when opted in. */
  private extract(message: TracedMessage): Otel.Context {
    const { api } = this;
    const properties = message.properties;
    if (properties === null || !('traceparent' in properties)) return api.ROOT_CONTEXT;
    const context = api.propagation.extract(api.ROOT_CONTEXT, properties, TRACE_GETTER);
    return this.options.baggage || !('baggage' in properties) ? context : api.propagation.deleteBaggage(context);
  }

  private linksTo(contexts: Otel.Context[]): Otel.Link[] {
    const links: Otel.Link[] = [];
    for (const context of contexts) {
      const spanContext = this.api.trace.getSpanContext(context);
      if (spanContext !== undefined && this.api.trace.isSpanContextValid(spanContext)) links.push({ context: spanContext });
    }
    return links;
  }
}

const NO_SPAN: SpanHandle = { fail: () => undefined };
const NO_CHECK_SPAN: CheckSpanHandle = { fail: () => undefined, answered: () => undefined };

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
