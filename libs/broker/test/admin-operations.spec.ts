import { Broker, GroupNotFoundError, IllegalStateError, InvalidOptionsError, MessageView } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, queryStore, uniqueName, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

/** A group that consumed `count` messages of a fresh two-queue topic, then was shut down (offline). */
async function offlineGroup(broker: Broker, count: number): Promise<{ topic: string; group: string }> {
  const topic = uniqueName('ops');
  const group = uniqueName('ops-readers');
  await broker.admin.createTopic(topic, { queues: 2 });
  const seen: MessageView[] = [];
  const consumer = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, offsetCommitInterval: 20, handler: (m) => void seen.push(m) });
  await consumer.start();
  const producer = broker.producer({ group: 'p' });
  for (let i = 0; i < count; i += 1) await producer.send({ topic, body: `m${i}`, messageGroup: `k${i % 2}` });
  await waitFor(async () => (await broker.admin.groupProgress(group)).every((q) => q.lag === 0), { what: 'consumed and committed' });
  await consumer.shutdown();
  return { topic, group };
}

describe('admin operations', () => {
  it('lists groups with members, lag and dead letters; lag is a count, or unknown with a reason, never negative', async () => {
    const broker = await openBroker();
    const { topic, group } = await offlineGroup(broker, 4);
    const producer = broker.producer({ group: 'p' });
    for (let i = 0; i < 3; i += 1) await producer.send({ topic, body: `late${i}`, messageGroup: 'k0' });

    const listed = (await broker.admin.listGroups()).find((g) => g.group === group);
    expect(listed).toMatchObject({ model: 'CLUSTERING', liveMembers: 0, topics: [topic], lag: 3, lagUnknownReason: null, deadLetters: 0 });
    const progress = (await broker.admin.groupProgress(group)).filter((q) => q.topic === topic);
    const lagging = progress.find((q) => q.lag !== 0);
    expect(lagging).toMatchObject({ lag: 3, lagUnknownReason: null });
    expect(lagging?.lagAgeMs).toBeGreaterThanOrEqual(0);
    expect(progress.find((q) => q.lag === 0)?.lagAgeMs).toBe(0);

    // a queue whose offset is past its end (a restored backup, a recreated queue): unknown, with why
    await queryStore(db, 'UPDATE herald.consumer_offsets SET committed_offset = 99 WHERE group_name = $1 AND topic = $2 AND queue_id = 0', [group, topic]);
    // and one with no offset at all
    await queryStore(db, 'DELETE FROM herald.consumer_offsets WHERE group_name = $1 AND topic = $2 AND queue_id = 1', [group, topic]);
    const odd = (await broker.admin.groupProgress(group)).filter((q) => q.topic === topic);
    expect(odd).toEqual([
      expect.objectContaining({
        queueId: 0,
        consumerOffset: 99,
        lag: 'unknown',
        lagAgeMs: null,
        lagUnknownReason: expect.stringMatching(/past the queue's end/),
      }),
      expect.objectContaining({ queueId: 1, consumerOffset: null, lag: 'unknown', lagAgeMs: null, lagUnknownReason: expect.stringMatching(/no offset yet/) }),
    ]);
    const again = (await broker.admin.listGroups()).find((g) => g.group === group);
    expect(again).toMatchObject({ lag: 'unknown', lagUnknownReason: expect.stringMatching(/1 queue\(s\) with an offset past the queue's end/) });

    // a live member subscribed to a queue it has not positioned yet shows it with no offset
    await queryStore(db, 'UPDATE herald.consumer_offsets SET committed_offset = 0 WHERE group_name = $1 AND topic = $2', [group, topic]);
    const member = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler: () => undefined });
    await member.start();
    await queryStore(db, 'DELETE FROM herald.consumer_offsets WHERE group_name = $1 AND topic = $2 AND queue_id = 1', [group, topic]);
    const unstarted = (await broker.admin.groupProgress(group)).find((q) => q.topic === topic && q.queueId === 1);
    expect(unstarted).toMatchObject({ consumerOffset: null, lag: 'unknown', lagUnknownReason: expect.stringMatching(/no offset yet/) });
  });

  it('resets offsets by time, to the latest, or to given offsets, with a dry run first; online and offline groups', async () => {
    const broker = await openBroker();
    const { topic, group } = await offlineGroup(broker, 6);
    const before = await broker.admin.groupProgress(group);
    const ops = broker.admin.as('ops:alice');

    const preview = await ops.resetOffset(group, topic, 0, { dryRun: true });
    expect(preview).toMatchObject({ applied: false, liveMembers: 0 });
    expect(preview.queues).toEqual([
      { queueId: 0, from: 3, to: 0, skipped: 0, replayed: 3 },
      { queueId: 1, from: 3, to: 0, skipped: 0, replayed: 3 },
    ]);
    // a dry run writes nothing
    expect(await broker.admin.groupProgress(group)).toEqual(before);

    const explicit = await ops.resetOffset(group, topic, { offsets: { 1: 1 } });
    expect(explicit.queues).toEqual([
      { queueId: 0, from: 3, to: 3, skipped: 0, replayed: 0 },
      { queueId: 1, from: 3, to: 1, skipped: 0, replayed: 2 },
    ]);
    // the offline group's next member starts there: m-two of queue 1 come again
    const seen: string[] = [];
    const consumer = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler: (m) => void seen.push(m.body.toString()) });
    await consumer.start();
    await waitFor(() => seen.length === 2, { what: 'the replayed messages' });
    expect(seen.sort()).toEqual(['m3', 'm5']);

    // online: more messages wait; latest skips them, and the running member follows
    await consumer.shutdown();
    const producer = broker.producer({ group: 'p' });
    for (let i = 0; i < 4; i += 1) await producer.send({ topic, body: `skip${i}`, messageGroup: `k${i % 2}` });
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const member = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, handler: () => gate });
    const latest = await ops.resetOffset(group, topic, 'latest', { dryRun: true });
    expect(latest.queues.map((q) => q.skipped)).toEqual([2, 2]);
    await member.start();
    const applied = await ops.resetOffset(group, topic, 'latest');
    expect(applied).toMatchObject({ applied: true, liveMembers: 1 });
    // what it had pulled before the reset finishes; its offsets stay at the end
    release();
    await waitFor(async () => (await broker.admin.groupProgress(group)).filter((q) => q.topic === topic).every((q) => q.lag === 0), {
      what: 'lag 0 after latest',
    });

    await expect(ops.resetOffset(group, topic, { offsets: { 7: 0 } })).rejects.toMatchObject({ constructor: InvalidOptionsError, field: 'to.offsets.7' });
    await expect(ops.resetOffset(group, topic, { offsets: { 0: -1 } })).rejects.toMatchObject({ field: 'to.offsets.0' });
    await expect(ops.resetOffset('nobody-here', topic, 'latest')).rejects.toBeInstanceOf(GroupNotFoundError);

    // applied resets are audited under the actor; dry runs are not
    const audit = (await broker.admin.listAudit({ limit: 50 })).filter((e) => e.target === group);
    expect(audit.map((e) => [e.action, e.actor, e.outcome])).toEqual([
      ['offset.reset', 'ops:alice', 'ok'],
      ['offset.reset', 'ops:alice', 'ok'],
    ]);
    expect(audit[1].details).toMatchObject({
      topic,
      to: { offsets: { 1: 1 } },
      queues: [
        { queueId: 0, from: 3, to: 3 },
        { queueId: 1, from: 3, to: 1 },
      ],
    });
  });

  it('dead letters: resend by msgIds or time with a per-message report (one failing alone), export as NDJSON, purge', async () => {
    const broker = await openBroker();
    const topic = uniqueName('dlq-ops');
    const group = uniqueName('dlq-ops-readers');
    await broker.admin.createTopic(topic, { queues: 1 });
    let healed = false;
    const handled: string[] = [];
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      maxReconsumeTimes: 0,
      handler: (m) => {
        if (!healed) throw new TypeError(`cannot parse ${m.body.toString()}`);
        handled.push(m.body.toString());
      },
    });
    await consumer.start();
    const producer = broker.producer({ group: 'p' });
    const sent = [];
    for (let i = 0; i < 3; i += 1) sent.push(await producer.send({ topic, body: `order-${i}`, keys: [`order-${i}`] }));
    await waitFor(async () => (await broker.admin.listDlq(group)).length === 3, { what: 'three dead letters' });
    // a mark strictly between the two waves of dead letters (stored times have microseconds, a Date has not)
    const mark = new Date(Date.now() + 2);
    await waitFor(async () => Date.now() > mark.getTime() + 5, { what: 'the clock past the mark' });
    for (let i = 3; i < 5; i += 1) sent.push(await producer.send({ topic, body: `order-${i}`, keys: [`order-${i}`] }));
    await waitFor(async () => (await broker.admin.listDlq(group)).length === 5, { what: 'five dead letters' });

    const lines: string[] = [];
    const progress: [number, number][] = [];
    for await (const line of broker.admin.exportDlq(group, 'all', { onProgress: (done, total) => progress.push([done, total]) })) lines.push(line);
    const exported = lines.map((line) => JSON.parse(line) as { msgId: string; topic: string; body: string; lastError: { type: string; message: string } });
    expect(exported.map((e) => Buffer.from(e.body, 'base64').toString())).toEqual(['order-0', 'order-1', 'order-2', 'order-3', 'order-4']);
    expect(exported[0]).toMatchObject({ msgId: sent[0].msgId, topic, lastError: { type: 'TypeError', message: 'cannot parse order-0' } });
    expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
    expect(progress.at(-1)).toEqual([5, 5]);

    // the store refuses one resend (here a trigger): it fails alone, with its reason, the others go
    const bad = sent[1].msgId;
    await queryStore(
      db,
      `CREATE OR REPLACE FUNCTION herald.test_refuse_resend() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.msg_id = '${bad}' AND NEW.topic LIKE '\\%RETRY\\%%' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$`,
    );
    await queryStore(db, 'CREATE TRIGGER test_refuse_resend BEFORE INSERT ON herald.messages FOR EACH ROW EXECUTE FUNCTION herald.test_refuse_resend()');
    try {
      healed = true;
      const missing = '0'.repeat(32);
      const report = await broker.admin.as('ops:bob').resendDlq(group, [sent[0].msgId, bad, sent[2].msgId, missing]);
      expect(report).toMatchObject({ resent: 2, notFound: 1, failed: 1 });
      expect(report.results).toEqual([
        { msgId: sent[0].msgId, outcome: 'resent' },
        { msgId: bad, outcome: expect.stringMatching(/^failed: .*refused for the test/) },
        { msgId: sent[2].msgId, outcome: 'resent' },
        { msgId: missing, outcome: 'not found' },
      ]);
    } finally {
      await queryStore(db, 'DROP TRIGGER test_refuse_resend ON herald.messages');
      await queryStore(db, 'DROP FUNCTION herald.test_refuse_resend()');
    }
    await waitFor(() => handled.length === 2, { what: 'the two resent consumed' });
    expect(handled.sort()).toEqual(['order-0', 'order-2']);

    // by time: the second wave
    const dead = await broker.admin.listDlq(group);
    const byTime = await broker.admin.resendDlq(group, { from: mark });
    expect(byTime.results.map((r) => r.msgId)).toEqual(dead.slice(3).map((d) => d.msgId));
    await waitFor(() => handled.length === 4, { what: 'the time-range resend consumed' });
    await expect(broker.admin.resendDlq(group, [])).rejects.toMatchObject({ constructor: InvalidOptionsError, field: 'msgIds' });
    await expect(broker.admin.resendDlq(group, { from: 10, to: 5 })).rejects.toMatchObject({ field: 'to' });

    // purge: the first wave, then all
    expect(await broker.admin.purgeDlq(group, { before: mark })).toBe(3);
    expect((await broker.admin.listDlq(group)).map((d) => d.msgId)).toEqual(dead.slice(3).map((d) => d.msgId));
    expect(await broker.admin.purgeDlq(group)).toBe(2);
    expect(await broker.admin.listDlq(group)).toEqual([]);
    expect((await broker.admin.listGroups()).find((g) => g.group === group)?.deadLetters).toBe(0);

    const audit = (await broker.admin.listAudit()).filter((e) => e.target === group);
    expect(audit.map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['dlq.purge', 'ok', { deleted: 2 }],
      ['dlq.purge', 'ok', { before: mark.toISOString(), deleted: 3 }],
      ['dlq.resend', 'ok', { selection: { from: mark.toISOString() }, resent: 2, notFound: 0, failed: 0 }],
      ['dlq.resend', 'ok', { selection: { msgIds: 4 }, resent: 2, notFound: 1, failed: 1 }],
    ]);
    expect(audit[3].actor).toBe('ops:bob');
  });

  it('searches a topic by stored time, page by page, without repeats or gaps', async () => {
    const broker = await openBroker();
    const topic = uniqueName('by-time');
    await broker.admin.createTopic(topic, { queues: 3 });
    const from = new Date(Date.now() - 60_000);
    const producer = broker.producer({ group: 'p' });
    // concurrent sends: many share a stored time to the microsecond (one group commit)
    await Promise.all(Array.from({ length: 130 }, (_, i) => producer.send({ topic, body: `n${i}` })));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await broker.admin.queryMessagesByTime(topic, { from, limit: 50, cursor });
      seen.push(...page.messages.map((m) => m.body.toString()));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(130);
    expect(seen).toHaveLength(130);
    expect((await broker.admin.queryMessagesByTime(topic, { from, to: from.getTime() + 1 })).messages).toEqual([]);
    await expect(broker.admin.queryMessagesByTime(topic, { cursor: 'not-a-cursor' })).rejects.toMatchObject({
      constructor: InvalidOptionsError,
      field: 'cursor',
    });
  });

  it('deletes a group with its offsets, retry and dead-letter topics; refused, and audited as failed, while it has live members', async () => {
    const broker = await openBroker();
    const topic = uniqueName('doomed');
    const group = uniqueName('doomed-readers');
    await broker.admin.createTopic(topic, { queues: 1 });
    const consumer = broker.pushConsumer({ group, subscriptions: { [topic]: '*' }, maxReconsumeTimes: 0, handler: () => Promise.reject(new Error('no')) });
    await consumer.start();
    await broker.producer({ group: 'p' }).send({ topic, body: 'x' });
    await waitFor(async () => (await broker.admin.listDlq(group)).length === 1, { what: 'a dead letter' });
    const ops = broker.admin.as('ops:carol');
    await expect(ops.deleteGroup(group)).rejects.toBeInstanceOf(IllegalStateError);
    await consumer.shutdown();
    expect(await ops.deleteGroup(group)).toBe(true);
    expect(await ops.deleteGroup(group)).toBe(false);
    await expect(broker.admin.groupProgress(group)).rejects.toBeInstanceOf(GroupNotFoundError);
    expect((await broker.admin.listTopics()).filter((t) => t.name.endsWith(group))).toEqual([]);
    expect(await queryStore(db, 'SELECT 1 FROM herald.messages WHERE topic = $1', [`%DLQ%${group}`])).toEqual([]);
    expect(await queryStore(db, 'SELECT 1 FROM herald.consumer_offsets WHERE group_name = $1', [group])).toEqual([]);
    // the topic itself and other groups are untouched
    expect((await broker.admin.listTopics()).some((t) => t.name === topic)).toBe(true);

    const audit = (await broker.admin.listAudit()).filter((e) => e.target === group);
    expect(audit.map((e) => [e.action, e.actor, e.outcome, e.details])).toEqual([
      ['group.delete', 'ops:carol', 'ok', { existed: false }],
      ['group.delete', 'ops:carol', 'ok', { existed: true }],
      ['group.delete', 'ops:carol', expect.stringMatching(/^failed: ILLEGAL_STATE: Cannot delete the group: group ".*" is in use by 1 live member/), {}],
    ]);
    expect((await broker.admin.listAudit()).find((e) => e.target === topic)).toMatchObject({ action: 'topic.create', outcome: 'ok', details: { queues: 1 } });
  });

  it('re-checks a parked half: back to pending with its checks reset, committed by the next check-back, audited', async () => {
    const broker = await openBroker();
    const topic = uniqueName('recheck');
    await broker.admin.createTopic(topic, { queues: 1 });
    let logRepaired = false;
    const group = uniqueName('rechecked');
    const tx = broker.transactionProducer({
      group,
      transactionTimeout: 50,
      checkInterval: 50,
      maxChecks: 2,
      checker: () => (logRepaired ? 'COMMIT' : 'UNKNOWN'),
    });
    await tx.start();
    const half = await tx.sendHalf({ topic, body: 'stuck until the log is repaired' });
    await waitFor(async () => (await broker.admin.listHalfMessages({ state: 'parked', group })).length === 1, { what: 'the half parked' });
    // parked: no more check-backs of its own, however long it waits
    expect((await broker.admin.listHalfMessages({ group }))[0]).toMatchObject({ state: 'parked', checks: 2 });
    logRepaired = true;
    await broker.admin.as('ops:dave').recheckHalf(half.transactionId);
    await waitFor(async () => (await broker.admin.listHalfMessages({ group })).length === 0, { what: 'the re-checked half committed' });
    expect((await broker.admin.queryMessage(half.msgId))?.message.topic).toBe(topic);
    await expect(broker.admin.recheckHalf(half.transactionId)).rejects.toMatchObject({ code: 'TRANSACTION_NOT_FOUND' });
    expect((await broker.admin.listAudit()).filter((e) => e.target === half.transactionId).map((e) => [e.action, e.actor, e.outcome])).toEqual([
      ['half.recheck', broker.admin.actor, expect.stringMatching(/^failed: TRANSACTION_NOT_FOUND/)],
      ['half.recheck', 'ops:dave', 'ok'],
    ]);
  });
});
