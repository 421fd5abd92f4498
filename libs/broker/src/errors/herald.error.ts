/**
 * Base of every error Herald throws on purpose. `code` is stable across
 * versions, so callers can switch on it; `context` carries the fields that
 * name the problem (topic, group, field, ...).
 */
export class HeraldError extends Error {
  readonly code: string;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = Object.freeze({ ...context });
  }
}
