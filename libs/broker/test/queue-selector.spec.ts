// White-box tests of an internal, from the source (sends are tested end to end in producer.spec).
import { QueueSelector } from '../src/producer/queue-selector';

describe('QueueSelector', () => {
  it('maps a messageGroup to the same queue in every selector (process), and spreads groups over the queues', () => {
    const groups = Array.from({ length: 400 }, (_, i) => `order-${i}`);
    const first = groups.map((g) => new QueueSelector().select('t', g, 8));
    const again = groups.map((g) => new QueueSelector().select('t', g, 8));
    expect(again).toEqual(first);
    const perQueue = new Array<number>(8).fill(0);
    for (const q of first) perQueue[q] += 1;
    expect(Math.min(...perQueue)).toBeGreaterThan(20);
  });

  it('takes the queues of each topic in turn when there is no messageGroup', () => {
    const selector = new QueueSelector();
    expect([0, 1, 2, 3].map(() => selector.select('a', null, 3))).toEqual([0, 1, 2, 0]);
    expect(selector.nextQueue('b', 3)).toBe(0);
    expect(selector.nextQueue('a', 3)).toBe(1);
  });
});
