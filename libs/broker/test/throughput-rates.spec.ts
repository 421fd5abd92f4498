import { backgroundJobs } from '@herald/broker/internal';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, queryStore, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

describe('throughput rates', () => {
  it('messages in per topic and out per group, from samples; unknown with one sample or after a rewind; one instance samples at a time', async () => {
    const broker = await openBroker({ runRetention: false, throughputSampleInterval: 200 });
    // another instance, whose interval makes any sample of the last minutes recent enough to skip its own
    const other = await openBroker({ runRetention: false, throughputSampleInterval: 600_000 });
    const topic = uniqueName('rated');
    const group = uniqueName('raters');
    await broker.admin.createTopic(topic, { queues: 2 });
    let handled = 0;
    const consumer = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, offsetCommitInterval: 20, handler: () => void (handled += 1) });
    await consumer.start();
    const sampler = backgroundJobs(broker).throughputSampler;
    await waitFor(() => sampler.runOnce(), { what: 'a first sample (none other within the gap)' });
    // the other instance: skipped, a sample is recent
    expect(await backgroundJobs(other).throughputSampler.runOnce()).toBe(false);

    let rates = await broker.admin.rates();
    expect(rates.topics.find((t) => t.topic === topic)?.inPerSecond).toBe('unknown');

    const producer = broker.producer({ group: 'p' });
    await producer.sendBatch(Array.from({ length: 30 }, (_, i) => ({ topic, body: `m${i}` })));
    await waitFor(async () => handled === 30 && (await broker.admin.groupProgress(group)).every((q) => q.lag === 0), { what: 'consumed and committed' });
    await waitFor(() => sampler.runOnce(), { what: 'a second sample' });

    const [{ span }] = await queryStore<{ span: number }>(
      db,
      `SELECT extract(epoch FROM max(at) - min(at)) AS span FROM herald.throughput_samples WHERE kind = 'in' AND topic = $1`,
      [topic],
    );
    rates = await broker.admin.rates({ windowMs: 60_000 });
    const inRate = rates.topics.find((t) => t.topic === topic)?.inPerSecond;
    const outRate = rates.groups.find((g) => g.group === group && g.topic === topic)?.outPerSecond;
    expect(typeof inRate === 'number' ? inRate * Number(span) : inRate).toBeCloseTo(30, 6);
    expect(typeof outRate === 'number' ? outRate * Number(span) : outRate).toBeCloseTo(30, 6);
    // broker topics (%RETRY%, %DLQ%) are not listed as topics
    expect(rates.topics.every((t) => !t.topic.startsWith('%'))).toBe(true);

    // a rewind moves the consumed total back: that window's rate cannot be known
    await consumer.shutdown();
    await broker.admin.resetOffset(group, topic, 0);
    await waitFor(() => sampler.runOnce(), { what: 'a sample after the rewind' });
    rates = await broker.admin.rates({ windowMs: 60_000 });
    expect(rates.groups.find((g) => g.group === group && g.topic === topic)?.outPerSecond).toBe('unknown');
    await expect(broker.admin.rates({ windowMs: 5 })).rejects.toMatchObject({ field: 'windowMs' });
    await expect(openBroker({ throughputSampleInterval: 50 })).rejects.toMatchObject({ field: 'throughputSampleInterval' });
  });
});
