/**
 * What the broker's parts ask of tracing. OtelTracing implements it on @opentelemetry/api (an
 * optional peer); without the package there is none, and with it but no SDK registered its
 * spans do not record, so nothing is written into messages and handlers run as they are.
 */

/** Message properties the broker writes for trace propagation (W3C trace context); users may not set them. */
export const TRACE_PROPERTIES: readonly string[] = ['traceparent', 'tracestate'];

export interface TracedMessage {
  topic: string;
  msgId: string;
  tag: string | null;
  keys: string[] | null;
  messageGroup: string | null;
  properties: Record<string, string> | null;
}

/** What a handler's run may say of its span. */
export interface SpanHandle {
  /** Marks the span failed: status ERROR, and `error.type` (an exception name, `timeout`, `retry`). */
  fail(error: unknown, type: string): void;
}

export interface Tracing {
  /** Runs `send` inside a PRODUCER span and writes the span's context into each message's properties first. */
  send<T>(operation: 'send' | 'send_half', topic: string, messages: TracedMessage[], send: () => Promise<T>): Promise<T>;
  /**
   * Runs `handle` inside a CONSUMER "process" span whose parent is the context the message
   * carries (`topic`: its original topic); the span ends when `handle` settles.
   */
  process<T>(group: string, topic: string, message: TracedMessage & { reconsumeTimes: number }, handle: (span: SpanHandle) => Promise<T>): Promise<T>;
}

/** The properties a consumer sees: the broker's trace properties taken out (a copy only when there are any). */
export function userProperties(properties: Record<string, string>): Record<string, string> {
  if (!('traceparent' in properties) && !('tracestate' in properties)) return properties;
  const copy = { ...properties };
  for (const name of TRACE_PROPERTIES) delete copy[name];
  return copy;
}
