const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a string cannot be stored as PostgreSQL text, or null if it can. PostgreSQL
 * refuses NUL in text (a raw DatabaseError otherwise), and a lone UTF-16 surrogate
 * would be silently replaced by U+FFFD on the way to UTF-8: a tag would change.
 */
export function textProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  if (LONE_SURROGATE.test(value)) return 'must be well-formed UTF-16 (no lone surrogates)';
  return null;
}
