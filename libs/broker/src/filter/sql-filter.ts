import type { FilterNode, Literal, Operand } from './sql-filter.ast';
import { parseSqlFilter } from './sql-filter.parser';

type Value = string | number | boolean | null;
/** SQL's three-valued logic: null is "unknown" (a missing property), which never matches. */
type Truth = boolean | null;

/** The message fields a filter sees: its properties, plus `TAGS` for the tag (as in RocketMQ). */
export type FilterInput = { properties: Readonly<Record<string, string>>; tag?: string | null };

function literalValue(literal: Literal): Value {
  return literal.value;
}

function operandValue(operand: Operand, input: FilterInput): Value {
  if (operand.kind !== 'property') return literalValue(operand);
  if (operand.name === 'TAGS') return input.tag ?? null;
  const value = input.properties[operand.name];
  return value === undefined ? null : value;
}

/** Properties are strings; a comparison with a number is numeric and needs a numeric string. */
function asNumber(value: Value): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

function equals(left: Value, right: Value): Truth {
  if (left === null || right === null) return null;
  if (typeof left === 'number' || typeof right === 'number') {
    const a = asNumber(left);
    const b = asNumber(right);
    return a === null || b === null ? false : a === b;
  }
  if (typeof left === 'boolean' || typeof right === 'boolean') return String(left).toLowerCase() === String(right).toLowerCase();
  return left === right;
}

function order(left: Value, right: Value): number | null {
  const a = asNumber(left);
  const b = asNumber(right);
  if (a === null || b === null) return null;
  return a - b;
}

function not(value: Truth): Truth {
  return value === null ? null : !value;
}

function evaluate(node: FilterNode, input: FilterInput): Truth {
  switch (node.kind) {
    case 'constant':
      return node.value;
    case 'and': {
      const left = evaluate(node.left, input);
      if (left === false) return false;
      const right = evaluate(node.right, input);
      if (right === false) return false;
      return left === null || right === null ? null : true;
    }
    case 'or': {
      const left = evaluate(node.left, input);
      if (left === true) return true;
      const right = evaluate(node.right, input);
      if (right === true) return true;
      return left === null || right === null ? null : false;
    }
    case 'not':
      return not(evaluate(node.operand, input));
    case 'isNull': {
      const isNull = operandValue(node.operand, input) === null;
      return node.negated ? !isNull : isNull;
    }
    case 'compare': {
      const left = operandValue(node.left, input);
      const right = operandValue(node.right, input);
      if (left === null || right === null) return null;
      if (node.operator === '=') return equals(left, right);
      if (node.operator === '<>') return not(equals(left, right));
      const diff = order(left, right);
      if (diff === null) return false;
      return node.operator === '<' ? diff < 0 : node.operator === '<=' ? diff <= 0 : node.operator === '>' ? diff > 0 : diff >= 0;
    }
    case 'between': {
      const value = operandValue(node.operand, input);
      const low = operandValue(node.low, input);
      const high = operandValue(node.high, input);
      if (value === null || low === null || high === null) return null;
      const a = order(value, low);
      const b = order(value, high);
      const inside = a === null || b === null ? false : a >= 0 && b <= 0;
      return node.negated ? !inside : inside;
    }
    case 'in': {
      const value = operandValue(node.operand, input);
      if (value === null) return null;
      const found = node.values.some((literal) => equals(value, literalValue(literal)) === true);
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
    return evaluate(this.tree, input) === true;
  }
}
