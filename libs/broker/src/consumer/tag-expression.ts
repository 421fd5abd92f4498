import { InvalidFilterExpressionError } from '../errors/invalid-filter-expression.error';

/**
 * Parses a RocketMQ tag expression: `*` (every message), `TagA` or `TagA || TagB`.
 * Returns null for `*`, otherwise the tags. Whitespace around tags is ignored.
 */
export function parseTagExpression(expression: unknown): string[] | null {
  if (typeof expression !== 'string') {
    throw new InvalidFilterExpressionError(String(expression), 0, 'a tag expression must be a string');
  }
  const trimmed = expression.trim();
  if (trimmed === '' || trimmed === '*') return null;
  const tags: string[] = [];
  let position = 0;
  for (const part of expression.split('||')) {
    const tag = part.trim();
    if (tag === '') throw new InvalidFilterExpressionError(expression, position, 'empty tag between "||"');
    if (tag === '*') throw new InvalidFilterExpressionError(expression, position, '"*" cannot be combined with tags');
    if (tag.includes('|')) {
      throw new InvalidFilterExpressionError(expression, position + part.indexOf('|'), 'tags are separated by "||"');
    }
    if (!tags.includes(tag)) tags.push(tag);
    position += part.length + 2;
  }
  return tags;
}
