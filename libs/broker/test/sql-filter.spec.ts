import { InvalidFilterExpressionError } from '@herald/broker';
import { SqlFilter } from '../src/filter/sql-filter';

const props = { region: 'eu', amount: '150', vip: 'true', name: "O'Brien", empty: '' };
const matches = (expression: string, properties: Record<string, string> = props, tag?: string): boolean =>
  new SqlFilter(expression).matches({ properties, tag });

describe('SQL92 filter', () => {
  it.each([
    ["region = 'eu' AND amount > 100", true],
    ["region = 'us' OR amount >= 150", true],
    ["region <> 'eu'", false],
    ['amount < 150', false],
    ['amount <= 150', true],
    ['amount = 150.0', true],
    ['amount BETWEEN 100 AND 200', true],
    ['amount NOT BETWEEN 100 AND 200', false],
    ["region IN ('us', 'eu')", true],
    ["region NOT IN ('us', 'eu')", false],
    ['missing IS NULL', true],
    ['region IS NOT NULL', true],
    ["NOT (region = 'eu')", false],
    ["name = 'O''Brien'", true],
    ['(amount > 100 AND (region = \'eu\' OR region = \'us\')) AND NOT vip = FALSE', true],
    ["region = 'eu' and amount > -5.5e1", true],
    ['TRUE', true],
    ["TAGS = 'OrderPaid'", true],
  ])('%s → %s', (expression, expected) => {
    expect(matches(expression, props, 'OrderPaid')).toBe(expected);
  });

  it('follows RocketMQ typing: numeric comparisons need numeric values; a missing property never matches', () => {
    expect(matches("region > 10")).toBe(false);
    expect(matches('region = 10')).toBe(false);
    expect(matches('empty > 0')).toBe(false);
    expect(matches('missing > 1')).toBe(false);
    expect(matches('NOT missing > 1')).toBe(false);
    expect(matches("missing = 'x' OR region = 'eu'")).toBe(true);
    expect(matches('missing BETWEEN 1 AND 2')).toBe(false);
    expect(matches('missing NOT IN (1, 2)')).toBe(false);
  });

  it.each([
    ['', 0],
    ["region = 'eu", 9],
    ['region =', 8],
    ["region = 'eu' AND", 17],
    ['amount > 100 100', 13],
    ['(amount > 1', 11],
    ['amount IN ()', 11],
    ['amount BETWEEN 1 2', 17],
    ['amount # 1', 7],
    ['region IS eu', 10],
    ['12abc = 1', 2],
  ])('rejects %j with the position of the problem (%i)', (expression, position) => {
    let caught: unknown;
    try {
      new SqlFilter(expression);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidFilterExpressionError);
    expect((caught as InvalidFilterExpressionError).position).toBe(position);
  });

  it('is never turned into SQL: an injection attempt is just a string that does not match', () => {
    expect(matches("region = 'eu''; DROP TABLE messages; --'")).toBe(false);
    expect(() => new SqlFilter('region = eu; DROP TABLE x')).toThrow(InvalidFilterExpressionError);
  });

  it('refuses absurd nesting instead of overflowing the stack', () => {
    expect(() => new SqlFilter(`${'('.repeat(200)}a = 1${')'.repeat(200)}`)).toThrow(/nested deeper/);
  });
});
