/** Expression tree of a RocketMQ SQL92 filter. Literals are kept typed; identifiers name message properties. */
export type Literal = { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'boolean'; value: boolean };

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
