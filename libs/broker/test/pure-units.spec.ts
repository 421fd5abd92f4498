// White-box tests of internals, from the source (the package's public surface is tested through its name).
import { InvalidFilterExpressionError } from '../src/errors/invalid-filter-expression.error';
import { allocateAveragely } from '../src/consumer/allocate';
import { ProcessQueue } from '../src/consumer/process-queue';
import { parseTagExpression } from '../src/consumer/tag-expression';
import { EVERYTHING } from '../src/consumer/push-consumer-options';

describe('allocateAveragely', () => {
  it('covers every queue exactly once, whatever the member count', () => {
    for (let queues = 1; queues <= 17; queues += 1) {
      for (let count = 1; count <= 6; count += 1) {
        const members = Array.from({ length: count }, (_, i) => `m${i}`);
        const all = members.flatMap((m) => allocateAveragely(queues, members, m)).sort((a, b) => a - b);
        // sorted, the union is 0..queues-1 with no repeats: no queue left out, none given to two members
        expect({ queues, count, all }).toEqual({ queues, count, all: Array.from({ length: queues }, (_, i) => i) });
      }
    }
  });

  it('gives contiguous ranges, the first members one more (8 queues, 3 members)', () => {
    const members = ['a', 'b', 'c'];
    expect(members.map((m) => allocateAveragely(8, members, m))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7],
    ]);
    expect(allocateAveragely(8, members, 'stranger')).toEqual([]);
  });
});

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

describe('ProcessQueue', () => {
  it('commits up to the lowest unfinished offset, whatever the finishing order', () => {
    const queue = new ProcessQueue('t', 0, EVERYTHING, 10);
    for (const offset of [10, 11, 12, 13]) queue.track(offset);
    expect(queue.offsetToCommit()).toBe(10);
    queue.finish(12);
    queue.finish(11);
    expect(queue.offsetToCommit()).toBe(10);
    queue.finish(10);
    expect(queue.offsetToCommit()).toBe(13);
    queue.finish(13);
    expect(queue.offsetToCommit()).toBe(14);
  });

  it('resumes from the lowest abandoned offset when unstarted messages are given back', async () => {
    const queue = new ProcessQueue('t', 0, EVERYTHING, 0);
    for (const offset of [0, 1, 2, 3]) queue.track(offset);
    queue.abandon([2, 3]);
    expect(queue.nextPullOffset).toBe(2);
    let idle = false;
    const waiting = queue.idle().then(() => {
      idle = true;
    });
    queue.finish(1);
    await Promise.resolve();
    expect(idle).toBe(false);
    queue.finish(0);
    await waiting;
    expect(queue.offsetToCommit()).toBe(2);
  });
});
