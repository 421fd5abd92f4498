/**
 * Why a delivery failed, stored with the retry or dead-letter copy it caused (as reserved
 * properties, so it travels with every later copy), for operators looking at a DLQ.
 */
export interface DeliveryFailure {
  /** The exception's name (`TypeError`, ...), `timeout` (consumeTimeout), `retry` (the handler returned RETRY) or `invisible_timeout` (a simple consumer did not ack in time). */
  type: string;
  /** The exception's message, at most FAILURE_MESSAGE_LENGTH characters; never a stack. */
  message: string;
}

export const FAILURE_TYPE_PROPERTY = 'HERALD_ERROR_TYPE';
export const FAILURE_MESSAGE_PROPERTY = 'HERALD_ERROR_MESSAGE';
export const FAILURE_PROPERTIES: readonly string[] = [FAILURE_TYPE_PROPERTY, FAILURE_MESSAGE_PROPERTY];
export const FAILURE_MESSAGE_LENGTH = 1_024;

// NUL cannot be stored in jsonb, and a lone surrogate would not survive UTF-8: either would wedge the retry
// eslint-disable-next-line no-control-regex -- NUL is exactly what must be found
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function storable(text: string, max: number): string {
  const cleaned = text.replace(UNSTORABLE, '\uFFFD');
  if (cleaned.length <= max) return cleaned;
  // do not cut a surrogate pair in half
  const end = /[\uD800-\uDBFF]/.test(cleaned[max - 2] ?? '') ? max - 2 : max - 1;
  return `${cleaned.slice(0, end)}…`;
}

/** A handler's exception as a failure: its name and message, bounded and storable. */
export function failureOf(error: unknown): DeliveryFailure {
  if (error instanceof Error) return { type: storable(error.name || 'Error', 128), message: storable(error.message, FAILURE_MESSAGE_LENGTH) };
  return { type: 'Error', message: storable(String(error), FAILURE_MESSAGE_LENGTH) };
}

/** `properties` with the failure recorded (a copy; null stays an object of the failure alone). */
export function withFailure(properties: Record<string, string> | null, failure: DeliveryFailure): Record<string, string> {
  return { ...(properties ?? {}), [FAILURE_TYPE_PROPERTY]: failure.type, [FAILURE_MESSAGE_PROPERTY]: failure.message };
}

/** The failure stored in a message's properties, or null. */
export function storedFailure(properties: Record<string, string> | null): DeliveryFailure | null {
  if (properties === null || !(FAILURE_TYPE_PROPERTY in properties)) return null;
  return { type: properties[FAILURE_TYPE_PROPERTY], message: properties[FAILURE_MESSAGE_PROPERTY] ?? '' };
}
