import type { NumberLiteral } from './sql-filter.ast';

/**
 * How RocketMQ compares filter values, as observed in apache/rocketmq `filter/src/main/java/org/apache/rocketmq/
 * filter/expression/ComparisonExpression.java` (`__compare`, with `CONVERT_STRING_EXPRESSIONS`, which
 * `SelectorParser.parse` always sets). Properties are Java Strings; when a string meets a number it is converted
 * to the number's type: `Integer.valueOf`, `Long.valueOf` or `Double.valueOf`. It is never read with JavaScript's
 * `Number()`, which also accepts '0x10', '0b1', '' and blanks.
 */
export type FilterValue = string | boolean | NumberLiteral;

/**
 * A string that is not a number of the type it meets: RocketMQ throws, and the broker logs that and drops the
 * message (`broker/.../filter/ExpressionMessageFilter.java`, `isMatchedByCommitLog`), so it aborts the whole filter,
 * even under NOT or `<>`. Thrown as one shared instance because it is control flow that `SqlFilter.matches` catches.
 */
export class UncomparableValue extends Error {}
const UNCOMPARABLE = new UncomparableValue('a string is not a number of the type it is compared with');

const RANGES = { int: [-(2n ** 31n), 2n ** 31n - 1n], long: [-(2n ** 63n), 2n ** 63n - 1n] } as const;

/**
 * `Integer.valueOf` / `Long.valueOf`: an optional sign and decimal digits, nothing else (no blanks, hex, exponent,
 * point or `L` suffix; '010' is ten). `Character.digit` also reads the other decimal digits of the BMP ('１６').
 */
function parseJavaInteger(text: string, kind: 'int' | 'long'): bigint {
  let digits = text;
  if (!/^[+-]?[0-9]+$/.test(text)) {
    if (!/^[+-]?\p{Nd}+$/u.test(text) || /[\u{10000}-\u{10ffff}]/u.test(text)) throw UNCOMPARABLE;
    digits = text.replace(/\p{Nd}/gu, (digit) => String(digitValue(digit)));
  }
  const value = BigInt(digits);
  const [min, max] = RANGES[kind];
  if (value < min || value > max) throw UNCOMPARABLE;
  return value;
}

/** Unicode assigns decimal digits in contiguous runs of whole 0–9 sets, so a digit's value is its offset in its run, mod 10. */
function digitValue(digit: string): number {
  const code = digit.charCodeAt(0);
  let start = code;
  while (/\p{Nd}/u.test(String.fromCharCode(start - 1))) start -= 1;
  return (code - start) % 10;
}

const JAVA_DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?$/;
const JAVA_SPECIAL = /^([+-]?)(NaN|Infinity)$/;
const JAVA_HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)[fFdD]?$/;

/**
 * `Double.valueOf`: trims characters up to U+0020 (`String.trim`), then reads a decimal with optional exponent and
 * f/F/d/D suffix, NaN, Infinity, or a hexadecimal float, which needs a binary exponent ('0x1p4' is 16, '0x10' fails).
 */
function parseJavaDouble(text: string): number {
  const trimmed = text.replace(/^[\0- ]+|[\0- ]+$/g, '');
  if (JAVA_DECIMAL.test(trimmed)) return Number(trimmed.replace(/[fFdD]$/, ''));
  const special = JAVA_SPECIAL.exec(trimmed);
  if (special) return special[2] === 'NaN' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  const hex = JAVA_HEX.exec(trimmed);
  const fraction = hex?.[3] ?? '';
  if (!hex || hex[2] + fraction === '') throw UNCOMPARABLE;
  const magnitude = binaryToDouble(BigInt(`0x${hex[2]}${fraction}`), Number(hex[4]) - 4 * fraction.length);
  return hex[1] === '-' ? -magnitude : magnitude;
}

/** mantissa × 2^exponent, rounded half-even once to the bits a double keeps there (fewer when subnormal), as Java does. */
function binaryToDouble(mantissa: bigint, exponent: number): number {
  if (mantissa === 0n) return 0;
  const bits = mantissa.toString(2).length;
  const keep = Math.min(53, bits + exponent + 1074);
  if (keep < 0) return 0;
  const drop = bits - keep;
  if (drop <= 0) return Number(mantissa) * 2 ** exponent;
  const shift = BigInt(drop);
  let kept = mantissa >> shift;
  const rest = mantissa - (kept << shift);
  const half = 1n << (shift - 1n);
  if (rest > half || (rest === half && (kept & 1n) === 1n)) kept += 1n;
  return Number(kept) * 2 ** (exponent + drop);
}

/** `Boolean.valueOf`: "true" in any letter case is true, every other string false. */
function parseJavaBoolean(text: string): boolean {
  return text.toLowerCase() === 'true';
}

function sign<T extends bigint | string>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `Boolean.compareTo`: false before true. */
function compareBooleans(a: boolean, b: boolean): number {
  return Number(a) - Number(b);
}

/** `Double.compareTo`, not IEEE: NaN equals NaN and is above everything, and -0.0 is below 0.0. */
function compareDoubles(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number(Number.isNaN(a)) - Number(Number.isNaN(b));
  return Number(Object.is(b, -0)) - Number(Object.is(a, -0));
}

/** Integer and Long widen to Long; either side a Double widens both to Double. */
function compareNumbers(a: NumberLiteral, b: NumberLiteral): number {
  if (a.kind !== 'double' && b.kind !== 'double') return sign(a.value, b.value);
  return compareDoubles(Number(a.value), Number(b.value));
}

function stringAs(kind: NumberLiteral['kind'], text: string): NumberLiteral {
  return kind === 'double' ? { kind, value: parseJavaDouble(text) } : { kind, value: parseJavaInteger(text, kind) };
}

/**
 * `__compare`: the sign of left − right, converting a string to the other side's type. `=` and `<>` use it as is.
 * A boolean against a number is -1, as in Java. Where RocketMQ casts the wrong operand (a boolean literal left of a
 * string, a ClassCastException) the string is read with Boolean.valueOf as on the right.
 */
export function compareValues(left: FilterValue, right: FilterValue): number {
  if (typeof left === 'string') {
    if (typeof right === 'string') return sign(left, right);
    if (typeof right === 'boolean') return compareBooleans(parseJavaBoolean(left), right);
    return compareNumbers(stringAs(right.kind, left), right);
  }
  if (typeof left === 'boolean') {
    if (typeof right === 'object') return -1;
    return compareBooleans(left, typeof right === 'string' ? parseJavaBoolean(right) : right);
  }
  if (typeof right === 'string') return compareNumbers(left, stringAs(left.kind, right));
  return typeof right === 'boolean' ? -1 : compareNumbers(left, right);
}

/** `<`, `<=`, `>`, `>=`: two strings are both read with Double.valueOf (ComparisonExpression.evaluate), else `__compare`. */
export function orderValues(left: FilterValue, right: FilterValue): number {
  if (typeof left === 'string' && typeof right === 'string') return compareDoubles(parseJavaDouble(left), parseJavaDouble(right));
  return compareValues(left, right);
}
