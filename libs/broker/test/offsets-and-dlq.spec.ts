import { MessageView } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

describe('offsets, keys and dead letters', () => {
  it("queryMessagesByKey finds a topic's messages by business key", async () => {
    const broker = await openBroker();
    const topic = uniqueName('keyed');
    await broker.admin.createTopic(topic, { queues: 2 });
    const producer = broker.producer({ group: 'p' });
    const a = await producer.send({ topic, body: 'a', keys: ['order-1', 'customer-9'] });
    await producer.send({ topic, body: 'b', keys: ['order-2'] });
    const c = await producer.send({ topic, body: 'c', keys: ['order-1'] });
    await producer.send({ topic, body: 'd' });
    const found = await broker.admin.queryMessagesByKey(topic, 'order-1');
    expect(found.map((m) => m.msgId).sort()).toEqual([a.msgId, c.msgId].sort());
    expect(await broker.admin.queryMessagesByKey(topic, 'nobody')).toEqual([]);
    await expect(broker.admin.queryMessagesByKey(topic, '')).rejects.toMatchObject({ field: 'key' });
  });

  it('resendDlq puts dead letters back for the failing group only, with a fresh retry budget', async () => {
    const broker = await openBroker();
    const topic = uniqueName('resend');
    await broker.admin.createTopic(topic, { queues: 1 });
    let healed = false;
    const failing: MessageView[] = [];
    const healthy: MessageView[] = [];
    const failingGroup = uniqueName('fixme');
    const bad = broker.pushConsumer({
      group: failingGroup,
      subscriptions: { [topic]: '*' },
      maxReconsumeTimes: 1,
      handler: (m) => {
        failing.push(m);
        if (!healed) throw new Error('bug');
      },
    });
    const good = broker.pushConsumer({ group: uniqueName('fine'), subscriptions: { [topic]: '*' }, handler: (m) => void healthy.push(m) });
    await bad.start();
    await good.start();
    const receipt = await broker.producer({ group: 'p' }).send({ topic, body: 'poison until fixed' });
    await waitFor(async () => (await broker.admin.listDlq(failingGroup)).length === 1, { what: 'dead-lettered' });
    expect(failing.map((m) => m.reconsumeTimes)).toEqual([0, 1]);
    healed = true;
    expect(await broker.admin.resendDlq(failingGroup, [receipt.msgId])).toMatchObject({ resent: 1, results: [{ msgId: receipt.msgId, outcome: 'resent' }] });
    await waitFor(() => failing.length === 3, { what: 'resent message consumed' });
    expect(failing[2]).toMatchObject({ msgId: receipt.msgId, topic, reconsumeTimes: 0 });
    expect(healthy).toHaveLength(1);
    expect(await broker.admin.resendDlq(failingGroup, ['0'.repeat(32)])).toEqual({
      resent: 0,
      notFound: 1,
      failed: 0,
      results: [{ msgId: '0'.repeat(32), outcome: 'not found' }],
    });
    await expect(broker.admin.resendDlq('unknown-group', 'all')).rejects.toMatchObject({ code: 'GROUP_NOT_FOUND' });
  });

  it('resetOffset to a timestamp re-delivers from there to a running member; TIMESTAMP starts a new group there', async () => {
    const broker = await openBroker();
    const topic = uniqueName('rewind');
    const group = uniqueName('rewinders');
    await broker.admin.createTopic(topic, { queues: 2 });
    const producer = broker.producer({ group: 'p' });
    // a batch goes to one queue (as in RocketMQ), the next batch to the next queue: two per queue
    for (const pair of [0, 2]) await producer.sendBatch(Array.from({ length: 2 }, (_, i) => ({ topic, body: `early-${pair + i}` })));
    const early = await broker.admin.listTopics();
    const got: string[] = [];
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      consumeFromWhere: 'FIRST_OFFSET',
      offsetCommitInterval: 20,
      handler: (m) => void got.push(m.body.toString()),
    });
    await consumer.start();
    await waitFor(() => got.length === 4, { what: 'early messages consumed' });
    const mark = await waitFor(async () => {
      // a timestamp strictly after the early messages were stored
      const probe = await broker.admin.queryMessagesByKey(topic, 'none');
      return probe.length === 0 ? new Date() : null;
    });
    await waitFor(async () => Date.now() > mark.getTime() + 5, { what: 'clock moved on' });
    for (const pair of [0, 2]) await producer.sendBatch(Array.from({ length: 2 }, (_, i) => ({ topic, body: `late-${pair + i}`, keys: ['late'] })));
    await waitFor(() => got.length === 8, { what: 'late messages consumed' });
    expect(early.find((t) => t.name === topic)?.queues.map((q) => q.maxOffset)).toEqual([2, 2]);

    await waitFor(async () => (await broker.admin.groupProgress(group)).filter((q) => q.topic === topic).every((q) => q.consumerOffset === 4), {
      what: 'offsets committed',
    });
    const reset = await broker.admin.resetOffset(group, topic, mark);
    expect(reset).toMatchObject({ applied: true, liveMembers: 1 });
    expect(reset.queues).toEqual([
      { queueId: 0, from: 4, to: 2, skipped: 0, replayed: 2 },
      { queueId: 1, from: 4, to: 2, skipped: 0, replayed: 2 },
    ]);
    await waitFor(() => got.length === 12, { what: 'late messages re-delivered after the reset' });
    expect(got.slice(8).sort()).toEqual(['late-0', 'late-1', 'late-2', 'late-3']);

    const fromTime: string[] = [];
    const newcomer = broker.pushConsumer({
      group: uniqueName('time-travellers'),
      subscriptions: { [topic]: '*' },
      consumeFromWhere: 'TIMESTAMP',
      consumeTimestamp: mark.getTime(),
      handler: (m) => void fromTime.push(m.body.toString()),
    });
    await newcomer.start();
    await waitFor(() => fromTime.length === 4, { what: 'new group starts at the timestamp' });
    expect(fromTime.sort()).toEqual(['late-0', 'late-1', 'late-2', 'late-3']);
    expect(() => broker.pushConsumer({ group: 'g', subscriptions: { [topic]: '*' }, consumeFromWhere: 'TIMESTAMP', handler: () => undefined })).toThrow(
      expect.objectContaining({ field: 'consumeTimestamp' }),
    );
  });
});
