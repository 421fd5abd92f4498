// White-box tests of an internal, from the source (the package's public surface is tested through its name).
import { EVERYTHING } from '../src/consumer/push-consumer-options';
import { ProcessQueue } from '../src/consumer/process-queue';

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
