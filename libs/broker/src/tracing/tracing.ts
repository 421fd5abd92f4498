/**
 * What the broker's parts ask of tracing. OtelTracing implements it on @opentelemetry/api (an
 * optional peer); without the package there is none, and with it but no SDK registered its
 * spans do not record, so nothing is written into messages and handlers run as they are.
 */

/**
 * Message properties the broker writes for trace propagation (W3C trace context, and
 * baggage when opted in); users may not set them and consumers do not see them.
 */
export const TRACE_PROPERTIES: readonly string[] = ['traceparent', 'tracestate', 'baggage'];

export interface TracedMessage {
  topic: string;
  msgId: string;
  tag: string | null;
  keys: string[] | null;
  messageGroup: string | null;
  properties: Record<string, string> | null;
  /** Set on a delayed send. */
  delayMs?: number;
}

/** What a handler's run may say of its span. */
export interface SpanHandle {
  /** Marks the span failed: status ERROR, and `error.type` (an exception name, `timeout`, `retry`). */
  fail(error: unknown, type: string): void;
}

/** What a check-back's run says of its span. */
export interface CheckSpanHandle extends SpanHandle {
  /** The checker's answer (COMMIT, ROLLBACK, UNKNOWN, or `error` / `timeout`). */
  answered(outcome: string): void;
}

export interface Tracing {
  /** Runs `send` inside a PRODUCER span and writes the span's context into each message's properties first. */
  send<T>(operation: 'send' | 'send_half', topic: string, messages: TracedMessage[], send: () => Promise<T>): Promise<T>;
  /**
   * Runs `handle` inside a CONSUMER "process" span whose parent is the context the message
   * carries (`topic`: its original topic), or a root span linked to it (`useLinks`); the
   * span ends when `handle` settles.
   */
  process<T>(group: string, topic: string, message: TracedMessage & { reconsumeTimes: number }, handle: (span: SpanHandle) => Promise<T>): Promise<T>;
  /**
   * Runs a check-back of a half (the checker call and its outcome) in a root span linked to
   * the context the half carries: the check happens later, often in another process, and
   * belongs to no request of its own.
   */
  checkBack<T>(group: string, message: TracedMessage & { transactionId: string }, check: (span: CheckSpanHandle) => Promise<T>): Promise<T>;
  /** Runs a simple consumer's receive in a CONSUMER span linked to each received message's context. */
  receive<R>(group: string, topics: readonly string[], receive: () => Promise<R[]>, tracedOf: (received: R) => TracedMessage): Promise<R[]>;
  /** Runs an ack (or invisibility change) in a CONSUMER settle span under the caller's, linked to the message's context. */
  settle<T>(operation: 'ack' | 'change_invisible_duration', group: string, message: TracedMessage, settle: () => Promise<T>): Promise<T>;
}
