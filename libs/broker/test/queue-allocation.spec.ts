// White-box tests of an internal, from the source (the package's public surface is tested through its name).
import { allocateAveragely } from '../src/consumer/allocate';

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
