import type { ComparisonOperator, FilterNode, Literal, Operand } from './sql-filter.ast';
import { parseSqlFilter } from './sql-filter.parser';
import { compareValues, type FilterValue, orderValues, UncomparableValue } from './sql-filter.values';

/** SQL's three-valued logic: null is "unknown" (a missing property), which never matches. */
type Truth = boolean | null;

/** The message fields a filter sees: its properties, plus `TAGS` for the tag (as in RocketMQ). */
export type FilterInput = { properties: Readonly<Record<string, string>>; tag?: string | null };

function literalValue(literal: Literal): FilterValue {
  return literal.kind === 'string' || literal.kind === 'boolean' ? literal.value : literal;
}

function operandValue(operand: Operand, input: FilterInput): FilterValue | null {
  if (operand.kind !== 'property') return literalValue(operand);
  if (operand.name === 'TAGS') return input.tag ?? null;
  // Own properties only, as RocketMQ reads a HashMap: a plain object would answer `constructor`, `__proto__`, `toString`.
  return Object.hasOwn(input.properties, operand.name) ? input.properties[operand.name] : null;
}

function compare(operator: ComparisonOperator, left: FilterValue | null, right: FilterValue | null): Truth {
  if (left === null || right === null) return null;
  switch (operator) {
    case '=':
      return compareValues(left, right) === 0;
    case '<>':
      return compareValues(left, right) !== 0;
    case '<':
      return orderValues(left, right) < 0;
    case '<=':
      return orderValues(left, right) <= 0;
    case '>':
      return orderValues(left, right) > 0;
    case '>=':
      return orderValues(left, right) >= 0;
  }
}

/** Left to right, the right side only when needed: a conversion failure on the skipped side does not abort (LogicExpression). */
function and(left: Truth, right: () => Truth): Truth {
  if (left === false) return false;
  const value = right();
  if (value === false) return false;
  return left === null || value === null ? null : true;
}

function or(left: Truth, right: () => Truth): Truth {
  if (left === true) return true;
  const value = right();
  if (value === true) return true;
  return left === null || value === null ? null : false;
}

function evaluate(node: FilterNode, input: FilterInput): Truth {
  switch (node.kind) {
    case 'constant':
      return node.value;
    case 'and':
      return and(evaluate(node.left, input), () => evaluate(node.right, input));
    case 'or':
      return or(evaluate(node.left, input), () => evaluate(node.right, input));
    case 'not': {
      const value = evaluate(node.operand, input);
      return value === null ? null : !value;
    }
    case 'isNull': {
      const isNull = operandValue(node.operand, input) === null;
      return node.negated ? !isNull : isNull;
    }
    case 'compare':
      return compare(node.operator, operandValue(node.left, input), operandValue(node.right, input));
    case 'between': {
      // RocketMQ builds BETWEEN as `>= low AND <= high`, NOT BETWEEN as `< low OR > high` (ComparisonExpression.createBetween).
      const value = operandValue(node.operand, input);
      const low = operandValue(node.low, input);
      const high = operandValue(node.high, input);
      return node.negated ? or(compare('<', value, low), () => compare('>', value, high)) : and(compare('>=', value, low), () => compare('<=', value, high));
    }
    case 'in': {
      const value = operandValue(node.operand, input);
      if (value === null) return null;
      const found = node.values.some((literal) => compareValues(value, literalValue(literal)) === 0);
      return node.negated ? !found : found;
    }
  }
}

/** A parsed SQL92 filter: validated once, then evaluated per message on its properties alone. */
export class SqlFilter {
  private readonly tree: FilterNode;

  constructor(readonly expression: string) {
    this.tree = parseSqlFilter(expression);
  }

  matches(input: FilterInput): boolean {
    try {
      return evaluate(this.tree, input) === true;
    } catch (error) {
      if (error instanceof UncomparableValue) return false;
      throw error;
    }
  }
}
