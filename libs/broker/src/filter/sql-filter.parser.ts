import { InvalidFilterExpressionError } from '../errors/invalid-filter-expression.error';
import type { ComparisonOperator, FilterNode, Literal, NumberLiteral, Operand } from './sql-filter.ast';

type TokenKind = 'identifier' | 'keyword' | 'string' | 'number' | 'operator' | 'lparen' | 'rparen' | 'comma' | 'end';

interface Token {
  kind: TokenKind;
  text: string;
  position: number;
}

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IS', 'NULL', 'BETWEEN', 'IN', 'TRUE', 'FALSE']);
const MAX_LENGTH = 4_096;
const MAX_DEPTH = 64;
const INT_MAX = 2n ** 31n - 1n;
const LONG_MAX = 2n ** 63n - 1n;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (position: number, reason: string): never => {
    throw new InvalidFilterExpressionError(source, position, reason);
  };
  while (i < source.length) {
    const ch = source[i];
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: ch === '(' ? 'lparen' : ch === ')' ? 'rparen' : 'comma', text: ch, position: i });
      i += 1;
    } else if (ch === "'") {
      const start = i;
      let value = '';
      i += 1;
      for (;;) {
        if (i >= source.length) fail(start, 'unterminated string literal');
        if (source[i] === "'") {
          if (source[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += source[i];
        i += 1;
      }
      tokens.push({ kind: 'string', text: value, position: start });
    } else if (/[0-9]/.test(ch) || (ch === '-' && /[0-9.]/.test(source[i + 1] ?? '')) || (ch === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const match = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(i));
      if (!match) fail(i, 'malformed number');
      const text = match![0];
      if (/[A-Za-z_$]/.test(source[i + text.length] ?? '')) fail(i + text.length, 'unexpected character after number');
      tokens.push({ kind: 'number', text, position: i });
      i += text.length;
    } else if (/[A-Za-z_$]/.test(ch)) {
      const text = /^[A-Za-z_$][A-Za-z0-9_.$]*/.exec(source.slice(i))![0];
      const upper = text.toUpperCase();
      tokens.push({ kind: KEYWORDS.has(upper) ? 'keyword' : 'identifier', text: KEYWORDS.has(upper) ? upper : text, position: i });
      i += text.length;
    } else {
      const op = /^(<>|<=|>=|=|<|>)/.exec(source.slice(i));
      if (!op) fail(i, `unexpected character ${JSON.stringify(ch)}`);
      tokens.push({ kind: 'operator', text: op![0], position: i });
      i += op![0].length;
    }
  }
  tokens.push({ kind: 'end', text: '', position: source.length });
  return tokens;
}

/** Recursive descent over: or := and (OR and)*; and := not (AND not)*; not := NOT not | predicate. */
class Parser {
  private at = 0;
  private depth = 0;

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  parse(): FilterNode {
    const node = this.or();
    const token = this.peek();
    if (token.kind !== 'end') this.fail(token, `unexpected ${this.describe(token)}`);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.at];
  }

  private next(): Token {
    const token = this.tokens[this.at];
    if (token.kind !== 'end') this.at += 1;
    return token;
  }

  private isKeyword(word: string): boolean {
    const token = this.peek();
    return token.kind === 'keyword' && token.text === word;
  }

  private expectKeyword(word: string): void {
    const token = this.next();
    if (token.kind !== 'keyword' || token.text !== word) this.fail(token, `expected ${word}, found ${this.describe(token)}`);
  }

  private fail(token: Token, reason: string): never {
    throw new InvalidFilterExpressionError(this.source, token.position, reason);
  }

  private describe(token: Token): string {
    return token.kind === 'end' ? 'end of expression' : JSON.stringify(token.text);
  }

  private nested<T>(token: Token, parse: () => T): T {
    this.depth += 1;
    if (this.depth > MAX_DEPTH) this.fail(token, `nested deeper than ${MAX_DEPTH}`);
    try {
      return parse();
    } finally {
      this.depth -= 1;
    }
  }

  private or(): FilterNode {
    let left = this.and();
    while (this.isKeyword('OR')) {
      this.next();
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): FilterNode {
    let left = this.not();
    while (this.isKeyword('AND')) {
      this.next();
      left = { kind: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): FilterNode {
    if (this.isKeyword('NOT')) {
      const token = this.next();
      return this.nested(token, () => ({ kind: 'not', operand: this.not() }));
    }
    return this.predicate();
  }

  private predicate(): FilterNode {
    const token = this.peek();
    if (token.kind === 'lparen') {
      this.next();
      const inner = this.nested(token, () => this.or());
      const close = this.next();
      if (close.kind !== 'rparen') this.fail(close, `expected ")", found ${this.describe(close)}`);
      return inner;
    }
    if (token.kind === 'keyword' && (token.text === 'TRUE' || token.text === 'FALSE')) {
      const after = this.tokens[this.at + 1];
      if (after.kind !== 'operator' && !(after.kind === 'keyword' && ['IS', 'IN', 'BETWEEN', 'NOT'].includes(after.text))) {
        this.next();
        return { kind: 'constant', value: token.text === 'TRUE' };
      }
    }
    const left = this.operand();
    const following = this.peek();
    if (following.kind === 'operator') {
      this.next();
      return { kind: 'compare', operator: following.text as ComparisonOperator, left, right: this.operand() };
    }
    if (this.isKeyword('IS')) {
      this.next();
      const negated = this.isKeyword('NOT');
      if (negated) this.next();
      this.expectKeyword('NULL');
      return { kind: 'isNull', operand: left, negated };
    }
    const negated = this.isKeyword('NOT');
    if (negated) this.next();
    if (this.isKeyword('BETWEEN')) {
      this.next();
      const low = this.operand();
      this.expectKeyword('AND');
      return { kind: 'between', operand: left, low, high: this.operand(), negated };
    }
    if (this.isKeyword('IN')) {
      this.next();
      const open = this.next();
      if (open.kind !== 'lparen') this.fail(open, `expected "(" after IN, found ${this.describe(open)}`);
      const values: Literal[] = [this.literal()];
      while (this.peek().kind === 'comma') {
        this.next();
        values.push(this.literal());
      }
      const close = this.next();
      if (close.kind !== 'rparen') this.fail(close, `expected "," or ")", found ${this.describe(close)}`);
      return { kind: 'in', operand: left, values, negated };
    }
    return this.fail(this.peek(), `expected a comparison, IS, BETWEEN or IN, found ${this.describe(this.peek())}`);
  }

  private operand(): Operand {
    const token = this.peek();
    if (token.kind === 'identifier') {
      this.next();
      return { kind: 'property', name: token.text };
    }
    return this.literal();
  }

  private literal(): Literal {
    const token = this.next();
    if (token.kind === 'string') return { kind: 'string', value: token.text };
    if (token.kind === 'number') return this.number(token);
    if (token.kind === 'keyword' && (token.text === 'TRUE' || token.text === 'FALSE')) return { kind: 'boolean', value: token.text === 'TRUE' };
    return this.fail(token, `expected a value, found ${this.describe(token)}`);
  }

  /** RocketMQ reads the digits before the minus sign: an Integer up to 2^31−1, then a Long; past that a parse error. */
  private number(token: Token): NumberLiteral {
    if (/[.eE]/.test(token.text)) return { kind: 'double', value: Number(token.text) };
    const value = BigInt(token.text);
    const magnitude = value < 0n ? -value : value;
    if (magnitude <= INT_MAX) return { kind: 'int', value };
    if (magnitude <= LONG_MAX) return { kind: 'long', value };
    return this.fail(token, 'integer literal outside the range of a Java long');
  }
}

/** Parses a RocketMQ SQL92 filter; throws InvalidFilterExpressionError with the position of the problem. */
export function parseSqlFilter(source: unknown): FilterNode {
  if (typeof source !== 'string') throw new InvalidFilterExpressionError(String(source), 0, 'an SQL filter must be a string');
  if (source.trim() === '') throw new InvalidFilterExpressionError(source, 0, 'empty SQL filter');
  if (source.length > MAX_LENGTH) throw new InvalidFilterExpressionError(source, MAX_LENGTH, `longer than ${MAX_LENGTH} characters`);
  return new Parser(source, tokenize(source)).parse();
}
