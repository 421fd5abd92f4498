// White-box tests of an internal, from the source (the package's public surface is tested through its name).
import { InvalidFilterExpressionError } from '../src/errors/invalid-filter-expression.error';
import { parseTagExpression } from '../src/consumer/tag-expression';

describe('parseTagExpression', () => {
  it('parses *, one tag and alternatives', () => {
    expect(parseTagExpression('*')).toBeNull();
    expect(parseTagExpression('')).toBeNull();
    expect(parseTagExpression('OrderCreated')).toEqual(['OrderCreated']);
    expect(parseTagExpression(' A || B ||A ')).toEqual(['A', 'B']);
  });

  it.each([
    ['A ||', 4],
    ['A | B', 2],
    ['* || A', 0],
    ['A |||| B', 4],
  ])('rejects %j with the position of the problem', (expression, position) => {
    let caught: unknown;
    try {
      parseTagExpression(expression);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidFilterExpressionError);
    expect((caught as InvalidFilterExpressionError).position).toBe(position);
  });
});
