/** Expression tree of a RocketMQ SQL92 filter. Literals are kept typed; identifiers name message properties. */
export type Literal = { kind: 'string'; value: string } | NumberLiteral | { kind: 'boolean'; value: boolean };

/**
 * A number typed as RocketMQ's parser types it (ConstantExpression.createFromDecimal / createFloat): digits alone are
 * an Integer, or a Long past 2^31−1; a point or an exponent makes a Double. The type decides how a string is read.
 */
export type NumberLiteral = { kind: 'int' | 'long'; value: bigint } | { kind: 'double'; value: number };

export type Operand = { kind: 'property'; name: string } | Literal;

export type ComparisonOperator = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; operator: ComparisonOperator; left: Operand; right: Operand }
  | { kind: 'isNull'; operand: Operand; negated: boolean }
  | { kind: 'between'; operand: Operand; low: Operand; high: Operand; negated: boolean }
  | { kind: 'in'; operand: Operand; values: Literal[]; negated: boolean }
  | { kind: 'constant'; value: boolean };
