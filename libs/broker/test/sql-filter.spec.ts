// White-box tests of internals, from the source (the package's public surface is tested through its name).
import { InvalidFilterExpressionError } from '../src/errors/invalid-filter-expression.error';
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
    ["(amount > 100 AND (region = 'eu' OR region = 'us')) AND NOT vip = FALSE", true],
    ["region = 'eu' and amount > -5.5e1", true],
    ['TRUE', true],
    ["TAGS = 'OrderPaid'", true],
  ])('%s → %s', (expression, expected) => {
    expect(matches(expression, props, 'OrderPaid')).toBe(expected);
  });

  it('follows RocketMQ typing: numeric comparisons need numeric values; a missing property never matches', () => {
    expect(matches('region > 10')).toBe(false);
    expect(matches('region = 10')).toBe(false);
    expect(matches('empty > 0')).toBe(false);
    expect(matches('missing > 1')).toBe(false);
    expect(matches('NOT missing > 1')).toBe(false);
    expect(matches("missing = 'x' OR region = 'eu'")).toBe(true);
    expect(matches('missing BETWEEN 1 AND 2')).toBe(false);
    expect(matches('missing NOT IN (1, 2)')).toBe(false);
  });

  describe('reads own properties only', () => {
    it.each([
      ['constructor IS NOT NULL', false],
      ['__proto__ IS NOT NULL', false],
      ['toString IS NULL', true],
      ['hasOwnProperty IS NULL', true],
      ["constructor <> 'x'", false],
    ])('%s → %s on a message without that property', (expression, expected) => {
      expect(matches(expression)).toBe(expected);
    });

    it('matches a message that really has such a property', () => {
      expect(matches("constructor = 'Foo'", { constructor: 'Foo' })).toBe(true);
      expect(matches('toString IS NOT NULL', { toString: 'x' })).toBe(true);
      // Properties arrive from jsonb through JSON.parse, which makes "__proto__" an own property.
      expect(matches("__proto__ = 'p'", JSON.parse('{"__proto__":"p"}') as Record<string, string>)).toBe(true);
    });
  });

  describe('follows RocketMQ typing when a string meets a number', () => {
    const strings = {
      amount: '150',
      hex: '0x10',
      hexFloat: '0x1p4',
      lead: ' 16',
      trail: '16 ',
      exp: '1e3',
      octal: '010',
      plus: '+16',
      empty: '',
      inf: 'Infinity',
      nan: 'NaN',
      point: '150.0',
      big: '3000000000',
      precise: '9007199254740993',
      suffixL: '16L',
      suffixD: '16d',
      wide: '１６',
      limit: '200',
      region: 'eu',
      yes: 'yes',
      upper: 'TRUE',
    };

    it.each([
      // An integer literal reads the string with Integer.valueOf (Long.valueOf past 2^31−1): sign and decimal digits only.
      ['hex = 16', false],
      ['16 = hex', false],
      ['hex > 15', false],
      ['hex BETWEEN 10 AND 20', false],
      ['lead = 16', false],
      ['trail > 15', false],
      ['exp = 1000', false],
      ['point = 150', false],
      ['empty = 0', false],
      ['inf > 1', false],
      ['suffixL = 16', false],
      ['big > 1', false],
      ['octal = 10', true],
      ['octal = 8', false],
      ['plus = 16', true],
      ['16 = plus', true],
      ['wide = 16', true],
      ['big = 3000000000', true],
      ['precise = 9007199254740992', false],
      ['precise > 9007199254740992', true],
      // A literal with a point or an exponent reads it with Double.valueOf: trimmed, exponent, f/d suffix, NaN, Infinity, hex only with a p exponent.
      ['hex = 16.0', false],
      ['hexFloat = 16.0', true],
      ['hexFloat = 16', false],
      ['lead = 16.0', true],
      ['trail = 16.0', true],
      ['exp = 1000.0', true],
      ['exp = 1e3', true],
      ['point = 150.0', true],
      ['amount = 1.5e2', true],
      ['suffixD = 16.0', true],
      ['wide = 16.0', false],
      ['inf > 1.0', true],
      ['nan > 1.0', true],
      ['nan = 1.0', false],
    ])('%s → %s', (expression, expected) => {
      expect(matches(expression, strings)).toBe(expected);
    });

    it.each([
      ['empty <> 0', false],
      ['hex <> 16', false],
      ['NOT region = 10', false],
      ['region NOT BETWEEN 1 AND 2', false],
      ["region = 10 OR region = 'eu'", false],
      ["region = 'eu' OR region = 10", true],
    ])('a string that is not a number of the literal type stops the whole filter, as RocketMQ drops the message: %s → %s', (expression, expected) => {
      expect(matches(expression, strings)).toBe(expected);
    });

    it.each([
      ["amount = '150'", true],
      ["point = '150'", false],
      ["hex = '0x10'", true],
      ["lead = ' 16'", true],
      ["region <> 'us'", true],
      ["hex IN ('0x10', 'eu')", true],
      ['amount < limit', true],
      ['region < limit', false],
    ])('leaves string-with-string comparisons alone: %s → %s', (expression, expected) => {
      expect(matches(expression, strings)).toBe(expected);
    });

    it.each([
      ['upper = TRUE', true],
      ['yes = TRUE', false],
      ['yes = FALSE', true],
    ])('reads a string against TRUE/FALSE with Boolean.valueOf: %s → %s', (expression, expected) => {
      expect(matches(expression, strings)).toBe(expected);
    });

    it('refuses an integer literal outside Java long, as RocketMQ does', () => {
      expect(matches('big < 9223372036854775807', strings)).toBe(true);
      expect(() => new SqlFilter('big < 9223372036854775808')).toThrow(InvalidFilterExpressionError);
      expect(() => new SqlFilter('big > -9223372036854775808')).toThrow(InvalidFilterExpressionError);
    });
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
