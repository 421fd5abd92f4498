import { InvalidOptionsError } from '../errors/invalid-options.error';
import { boolOption } from '../option-limits';

/**
 * Where spans are created: an OpenTelemetry `TracerProvider` (structurally: Herald's types
 * do not depend on @opentelemetry/api, an optional peer).
 */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): object;
}

export interface TracingOptions {
  /** The provider to create spans with. Default: the globally registered one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProviderLike;
  /**
   * A consumer's `process` span starts a new trace, with a link to the message's context,
   * instead of being its child (for long-lived or fan-out flows where one trace per
   * message delivery reads better). Default false.
   */
  useLinks?: boolean;
  /**
   * Carry W3C baggage in a `baggage` property (at most 8 192 bytes; larger baggage is left
   * out), and give it to consumers. Default false: baggage can hold what a team would not
   * want stored in every message.
   */
  baggage?: boolean;
}

export interface ResolvedTracingOptions {
  tracerProvider: TracerProviderLike | null;
  useLinks: boolean;
  baggage: boolean;
}

/**
 * Omitted or `true`: tracing is on whenever `@opentelemetry/api` is installed (it records
 * only once an SDK is registered); `false` turns it off; an object sets its options.
 */
export function resolveTracingOptions(options: boolean | TracingOptions | undefined): ResolvedTracingOptions | null {
  if (options === false) return null;
  const given: TracingOptions = options === undefined || options === true ? {} : options;
  if (given === null || typeof given !== 'object') throw new InvalidOptionsError('tracing', 'must be true, false or an options object');
  const tracerProvider = given.tracerProvider ?? null;
  if (tracerProvider !== null && (typeof tracerProvider !== 'object' || typeof tracerProvider.getTracer !== 'function')) {
    throw new InvalidOptionsError('tracing.tracerProvider', 'must be an OpenTelemetry TracerProvider');
  }
  return {
    tracerProvider,
    useLinks: boolOption(given.useLinks, 'tracing.useLinks', false),
    baggage: boolOption(given.baggage, 'tracing.baggage', false),
  };
}
