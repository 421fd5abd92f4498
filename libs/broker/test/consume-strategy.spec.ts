// White-box tests of an internal, from the source (consumption itself is tested end to end
// in consuming, orderly-and-broadcast and retry-and-dlq specs).
import { consumeStrategyFor } from '../src/consumer/consume-strategy';
import { EVERYTHING } from '../src/consumer/push-consumer-options';
import { ProcessQueue } from '../src/consumer/process-queue';
import type { StoredMessage } from '../src/stored-message';

const delayOf = (retry: number): number => retry * 1_000;
const options = { maxReconsumeTimes: 2, orderlySuspendTime: 50 };

function stored(reconsumeTimes: number): StoredMessage {
  return {
    topic: 't',
    queueId: 0,
    queueOffset: 0,
    msgId: 'M',
    tag: null,
    keys: null,
    messageGroup: null,
    properties: null,
    body: Buffer.from('x'),
    bornAt: new Date(),
    storedAt: new Date(),
    reconsumeTimes,
    originTopic: null,
  };
}

describe('consume strategies', () => {
  it('concurrent clustering runs handlers side by side and hands every failure to %RETRY%', () => {
    const strategy = consumeStrategyFor({ ...options, model: 'CLUSTERING', orderly: false }, delayOf);
    const queue = new ProcessQueue('t', 0, EVERYTHING, 0);
    queue.handlerStarted();
    expect(strategy.usesRetryTopic).toBe(true);
    expect(strategy.mayStart(queue)).toBe(true);
    expect(strategy.onFailure(stored(0))).toEqual({ kind: 'send-back' });
    expect(strategy.onFailure(stored(5))).toEqual({ kind: 'send-back' });
  });

  it('orderly runs one handler per queue, holds the queue on a failure, dead-letters past maxReconsumeTimes', () => {
    const strategy = consumeStrategyFor({ ...options, model: 'CLUSTERING', orderly: true }, delayOf);
    const queue = new ProcessQueue('t', 0, EVERYTHING, 0);
    expect(strategy.usesRetryTopic).toBe(false);
    expect(strategy.mayStart(queue)).toBe(true);
    queue.handlerStarted();
    expect(strategy.mayStart(queue)).toBe(false);
    queue.handlerEnded();
    expect(strategy.mayStart(queue)).toBe(true);
    expect(strategy.onFailure(stored(1))).toEqual({ kind: 'retry-in-place', afterMs: 50, holdQueue: true });
    expect(strategy.onFailure(stored(2))).toEqual({ kind: 'dead-letter' });
  });

  it('broadcasting retries in this member after the decaying delay, without holding the queue', () => {
    const strategy = consumeStrategyFor({ ...options, model: 'BROADCASTING', orderly: false }, delayOf);
    expect(strategy.usesRetryTopic).toBe(false);
    expect(strategy.onFailure(stored(0))).toEqual({ kind: 'retry-in-place', afterMs: 1_000, holdQueue: false });
    expect(strategy.onFailure(stored(1))).toEqual({ kind: 'retry-in-place', afterMs: 2_000, holdQueue: false });
    expect(strategy.onFailure(stored(2))).toEqual({ kind: 'dead-letter' });
  });
});

describe('ProcessQueue wake-ups', () => {
  it('a short pull clears "may have more" only if no wake-up arrived while it was out', () => {
    const queue = new ProcessQueue('t', 0, EVERYTHING, 0);
    const sent = queue.wakeups;
    queue.wake();
    queue.pulledAll(sent);
    expect(queue.mayHaveMore).toBe(true);
    queue.pulledAll(queue.wakeups);
    expect(queue.mayHaveMore).toBe(false);
  });
});
