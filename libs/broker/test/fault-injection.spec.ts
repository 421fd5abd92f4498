import { Client } from 'pg';
import { Broker, BrokerLogger, BrokerOptions, HeraldError, LogLevel, MessageView, ReceivedMessage } from '@herald/broker';
import { useTestDatabase } from '@herald/test-support/test-database';
import { waitFor } from '@herald/test-support/wait-for';
import { FAST, uniqueName, useBrokers } from './helpers';

/**
 * Each test kills one role's connections (`pg_terminate_backend` on the backends
 * whose application_name is `<applicationName>:<role>`) three times while a load
 * runs, and shows the role recovers by itself: progress resumes after every kill,
 * and every acknowledged message is delivered (at least once). The last test aims
 * one kill at a topic look-up in flight, to check what callers see then.
 */

type Role = 'producer' | 'consumer' | 'scheduler' | 'listener';

const db = useTestDatabase();

/** A connection of the test's own, with an application_name no broker uses, to kill the brokers' backends. */
let killer: Client;

async function backendsOf(applicationName: string, role: Role): Promise<number[]> {
  const { rows } = await killer.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()',
    [`${applicationName}:${role}`],
  );
  return rows.map((r) => r.pid);
}

/**
 * Terminates every backend of the role (once one exists) and returns the pids that
 * really went: pg_terminate_backend with a timeout is true only once the backend has exited.
 */
async function kill(applicationName: string, role: Role): Promise<number[]> {
  await waitFor(async () => (await backendsOf(applicationName, role)).length > 0, { what: `a ${applicationName}:${role} connection to kill` });
  const { rows } = await killer.query<{ pid: number; killed: boolean }>(
    `SELECT pid, pg_terminate_backend(pid, 5000) AS killed FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`,
    [`${applicationName}:${role}`],
  );
  return rows.filter((r) => r.killed).map((r) => r.pid);
}

/** Callers sending in a loop until stopped; what resolved is acknowledged, what rejected is kept to check its type. */
class Load {
  readonly acked: string[] = [];
  readonly failures: unknown[] = [];
  private running = true;
  private readonly callers: Promise<void>[];

  constructor(send: (seq: number) => Promise<string>, callers = 4) {
    let seq = 0;
    this.callers = Array.from({ length: callers }, async () => {
      while (this.running) {
        try {
          this.acked.push(await send(seq++));
        } catch (error) {
          this.failures.push(error);
          // pacing, not a wait for a condition: a caller failing fast must not spin the event loop
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.callers);
  }
}

/** Counts the broker's warnings and errors by message, to report what each kill disrupted. */
class CountingLogger implements BrokerLogger {
  readonly counts = new Map<string, number>();

  log(level: LogLevel, message: string): void {
    if (level === 'warn' || level === 'error') this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
  }

  toString(): string {
    return [...this.counts].map(([message, n]) => `${n}x "${message}"`).join(', ') || 'none';
  }
}

/** Failures that are not HeraldErrors, described (an empty list is what the broker promises). */
const untyped = (failures: unknown[]): string[] =>
  failures.filter((e) => !(e instanceof HeraldError)).map((e) => `${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? String(e)}`);

/** waitFor, leaving a timeout to the assertion that follows, which names what is missing. */
const settleFor = (condition: () => boolean | Promise<boolean>, options: { timeoutMs: number; what: string }): Promise<unknown> =>
  waitFor(condition, options).catch(() => undefined);

const missing = (acked: readonly string[], seen: { has(id: string): boolean }): string[] => acked.filter((id) => !seen.has(id));

describe('fault injection: each role recovers by itself when its connections are killed under load', () => {
  // inside the describe: opened after the database exists, closed before it is dropped (WITH FORCE would kill it)
  beforeAll(async () => {
    killer = new Client({ connectionString: db.url, application_name: 'fault-injector' });
    await killer.connect();
  });
  afterAll(async () => {
    await killer?.end();
  });
  const loads: Load[] = [];
  const stopAfter: (() => Promise<void>)[] = [];
  // declared before useBrokers, so it runs first: the loads stop before their brokers close
  afterEach(async () => {
    await Promise.all(loads.splice(0).map((load) => load.stop()));
    await Promise.all(stopAfter.splice(0).map((stop) => stop()));
  });
  const openBroker = useBrokers(db, FAST);

  function startLoad(send: (seq: number) => Promise<string>, callers?: number): Load {
    const load = new Load(send, callers);
    loads.push(load);
    return load;
  }

  async function stopLoad(load: Load): Promise<void> {
    loads.splice(loads.indexOf(load), 1);
    await load.stop();
  }

  const logs = new Map<string, CountingLogger>();

  /** A broker whose connections are named `<name>:<role>`, so a kill hits it and nothing else. */
  async function namedBroker(name: string, options: Partial<BrokerOptions> = {}): Promise<Broker> {
    const logger = new CountingLogger();
    logs.set(name, logger);
    return openBroker({ applicationName: name, logger, ...options });
  }

  /** A push consumer (FIRST_OFFSET) counting deliveries per msgId. */
  async function countingConsumer(broker: Broker, topic: string, group = uniqueName('fi-readers')): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    const consumer = broker.pushConsumer({
      group,
      subscriptions: { [topic]: '*' },
      consumeFromWhere: 'FIRST_OFFSET',
      handler: (m: MessageView) => void seen.set(m.msgId, (seen.get(m.msgId) ?? 0) + 1),
    });
    await consumer.start();
    return seen;
  }

  /** Kills the role three times; before each next kill, `progressed(mark at the kill)` must hold (observed recovery). */
  async function killThrice(name: string, role: Role, progressed: (mark: number) => boolean, mark: () => number): Promise<void> {
    for (let round = 1; round <= 3; round += 1) {
      const at = mark();
      const killed = await kill(name, role);
      // the negative check: a kill that terminated nothing would prove nothing
      expect(killed.length).toBeGreaterThan(0);
      await waitFor(() => progressed(at), { timeoutMs: 10_000, what: `progress after kill ${round} of ${name}:${role}` });
    }
  }

  it('append connection (producer): acknowledged sends are all consumed, failures are HeraldErrors, sends work again', async () => {
    const name = uniqueName('fi-append');
    const producerBroker = await namedBroker(name);
    const readerBroker = await namedBroker(uniqueName('fi-append-reader'));
    const topic = uniqueName('fi-append');
    await producerBroker.admin.createTopic(topic, { queues: 4 });
    const seen = await countingConsumer(readerBroker, topic);
    const producer = producerBroker.producer({ group: 'fi-append' });
    const load = startLoad(async (seq) => (await producer.send({ topic, body: `m${seq}` })).msgId);

    await waitFor(() => load.acked.length >= 200, { what: 'load running' });
    await killThrice(
      name,
      'producer',
      (at) => load.acked.length >= at + 200,
      () => load.acked.length,
    );
    await stopLoad(load);

    expect(untyped(load.failures)).toEqual([]);
    // the same broker, never restarted, sends again
    const after = await producer.send({ topic, body: 'after the kills' });
    const acked = [...load.acked, after.msgId];
    await settleFor(() => missing(acked, seen).length === 0, { timeoutMs: 15_000, what: 'every acknowledged send consumed' });
    expect(missing(acked, seen)).toEqual([]);
    console.log(
      `append kills: ${acked.length} acknowledged, ${load.failures.length} failed sends (all HeraldError), ${seen.size} consumed; logged: ${String(logs.get(name))}`,
    );
  });

  it('consumer pool (consumer): a push consumer carries on, every acknowledged message is delivered and its offsets committed', async () => {
    const name = uniqueName('fi-pool');
    const consumerBroker = await namedBroker(name);
    const producerBroker = await namedBroker(uniqueName('fi-pool-producer'));
    const topic = uniqueName('fi-pool');
    const group = uniqueName('fi-pool-readers');
    await producerBroker.admin.createTopic(topic, { queues: 4 });
    const seen = await countingConsumer(consumerBroker, topic, group);
    const producer = producerBroker.producer({ group: 'fi-pool' });
    const load = startLoad(async (seq) => (await producer.send({ topic, body: `m${seq}` })).msgId);

    await waitFor(() => seen.size >= 200, { what: 'consumer running' });
    await killThrice(
      name,
      'consumer',
      (at) => seen.size >= at + 200,
      () => seen.size,
    );
    await stopLoad(load);

    await settleFor(() => missing(load.acked, seen).length === 0, { timeoutMs: 15_000, what: 'every acknowledged message delivered' });
    expect(missing(load.acked, seen)).toEqual([]);
    await waitFor(
      async () => {
        const progress = (await producerBroker.admin.groupProgress(group)).filter((q) => q.topic === topic);
        return progress.length === 4 && progress.every((q) => q.lag === 0);
      },
      { timeoutMs: 10_000, what: 'offsets committed up to the end (lag 0)' },
    );
    const duplicates = [...seen.values()].reduce((n, c) => n + c - 1, 0);
    console.log(
      `consumer pool kills: ${load.acked.length} acknowledged, ${seen.size} delivered, ${duplicates} delivered twice; logged: ${String(logs.get(name))}`,
    );
  });

  it('LISTEN connection (listener): it reconnects and messages sent after a kill arrive far sooner than the poll interval', async () => {
    const name = uniqueName('fi-listen');
    // a minute between fallback polls: prompt delivery can only come from the listener reconnecting
    const broker = await namedBroker(name, { pollInterval: 60_000 });
    const topic = uniqueName('fi-listen');
    await broker.admin.createTopic(topic, { queues: 4 });
    const seen = await countingConsumer(broker, topic);
    const producer = broker.producer({ group: 'fi-listen' });
    const load = startLoad(async (seq) => (await producer.send({ topic, body: `m${seq}` })).msgId, 2);

    await waitFor(() => seen.size >= 100, { what: 'consumer woken by notifications' });
    for (let round = 1; round <= 3; round += 1) {
      const killed = await kill(name, 'listener');
      expect(killed.length).toBeGreaterThan(0);
      const sentFrom = load.acked.length;
      await waitFor(async () => (await backendsOf(name, 'listener')).some((pid) => !killed.includes(pid)), {
        timeoutMs: 5_000,
        what: `a new LISTEN connection after kill ${round}`,
      });
      await waitFor(() => load.acked.length >= sentFrom + 100, { what: `sends after kill ${round}` });
      const sentAfter = load.acked.slice(sentFrom);
      await waitFor(() => missing(sentAfter, seen).length === 0, { timeoutMs: 5_000, what: `messages sent after kill ${round} delivered promptly` });
    }
    await stopLoad(load);
    const last = await producer.send({ topic, body: 'last' });
    await waitFor(() => seen.has(last.msgId), { timeoutMs: 5_000, what: 'a message sent after the kills delivered promptly' });
    await settleFor(() => missing(load.acked, seen).length === 0, { timeoutMs: 5_000, what: 'every acknowledged message delivered' });
    expect(missing(load.acked, seen)).toEqual([]);
    console.log(`listener kills: ${load.acked.length} acknowledged, ${seen.size} delivered; logged: ${String(logs.get(name))}`);
  });

  it('simple consumer (consumer): receive works again after its connections are killed; every acknowledged send is received', async () => {
    const name = uniqueName('fi-simple');
    const consumerBroker = await namedBroker(name, { runScheduler: false, runRetention: false });
    const producerBroker = await namedBroker(uniqueName('fi-simple-producer'));
    const topic = uniqueName('fi-simple');
    await producerBroker.admin.createTopic(topic, { queues: 4 });
    const consumer = consumerBroker.simpleConsumer({ group: uniqueName('fi-pullers'), subscriptions: { [topic]: '*' }, consumeFromWhere: 'FIRST_OFFSET' });
    expect(await consumer.receive({ maxMessages: 1 })).toEqual([]);

    const received = new Map<string, number>();
    const receiveFailures: unknown[] = [];
    let receiving = true;
    const ack = async (m: ReceivedMessage): Promise<void> => {
      try {
        await consumer.ack(m);
      } catch (error) {
        // not acked: it reappears when its invisibility ends
        receiveFailures.push(error);
      }
    };
    const receiver = (async () => {
      while (receiving) {
        try {
          // short invisibility: a receipt lost with a killed connection comes back within a second
          const batch = await consumer.receive({ maxMessages: 32, invisibleDuration: 1_000, awaitDuration: 200 });
          for (const m of batch) received.set(m.msgId, (received.get(m.msgId) ?? 0) + 1);
          await Promise.all(batch.map(ack));
        } catch (error) {
          receiveFailures.push(error);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    })();
    stopAfter.push(async () => {
      receiving = false;
      await receiver;
    });
    const producer = producerBroker.producer({ group: 'fi-simple' });
    const load = startLoad(async (seq) => (await producer.send({ topic, body: `m${seq}` })).msgId);

    await waitFor(() => received.size >= 200, { what: 'receiving' });
    await killThrice(
      name,
      'consumer',
      (at) => received.size >= at + 200,
      () => received.size,
    );
    await stopLoad(load);

    await settleFor(() => missing(load.acked, received).length === 0, { timeoutMs: 15_000, what: 'every acknowledged send received' });
    expect(missing(load.acked, received)).toEqual([]);
    expect(untyped(receiveFailures)).toEqual([]);
    console.log(
      `simple consumer kills: ${load.acked.length} acknowledged, ${received.size} received, ${receiveFailures.length} failed receives/acks; logged: ${String(logs.get(name))}`,
    );
  });

  it('check-back (producer): halves left uncommitted under load are all committed by the checker and consumed', async () => {
    const name = uniqueName('fi-check');
    const txBroker = await namedBroker(name);
    const readerBroker = await namedBroker(uniqueName('fi-check-reader'));
    const topic = uniqueName('fi-check');
    const group = uniqueName('fi-tx');
    await txBroker.admin.createTopic(topic, { queues: 4 });
    const seen = await countingConsumer(readerBroker, topic);
    const checked = new Set<string>();
    const tx = txBroker.transactionProducer({
      group,
      checker: (m) => {
        checked.add(m.msgId);
        return 'COMMIT';
      },
      transactionTimeout: 100,
      // a claim whose resolution was lost with a killed connection expires after checkTimeout + sessionTimeout
      checkTimeout: 1_000,
    });
    await tx.start();
    // halves only: nothing commits them but the check-back
    const load = startLoad(async (seq) => (await tx.sendHalf({ topic, body: `half-${seq}` })).msgId);

    await waitFor(() => seen.size >= 100, { what: 'check-backs committing' });
    await killThrice(
      name,
      'producer',
      (at) => seen.size >= at + 100,
      () => seen.size,
    );
    await stopLoad(load);

    expect(untyped(load.failures)).toEqual([]);
    await settleFor(async () => (await readerBroker.admin.listHalfMessages({ group })).length === 0, { timeoutMs: 15_000, what: 'every half resolved' });
    expect(await readerBroker.admin.listHalfMessages({ group })).toEqual([]);
    await settleFor(() => missing(load.acked, seen).length === 0, { timeoutMs: 10_000, what: 'every acknowledged half committed and consumed' });
    expect(missing(load.acked, seen)).toEqual([]);
    // every one of them went through the checker, none through a commit of ours
    expect(missing(load.acked, checked)).toEqual([]);
    console.log(
      `check-back kills: ${load.acked.length} halves acknowledged, ${load.failures.length} failed, ${checked.size} checked, ${seen.size} consumed; logged: ${String(logs.get(name))}`,
    );
  });

  it('scheduler (scheduler): delayed messages keep being moved after its connections are killed; every one is delivered', async () => {
    const name = uniqueName('fi-sched');
    // FAST delay levels: level 1 is 10 ms. Only this broker runs a scheduler, so recovery is its own.
    const broker = await namedBroker(name);
    const topic = uniqueName('fi-sched');
    await broker.admin.createTopic(topic, { queues: 4 });
    const seen = await countingConsumer(broker, topic);
    const producer = broker.producer({ group: 'fi-sched' });
    const load = startLoad(async (seq) => {
      const receipt = await producer.send({ topic, body: `later-${seq}`, delayLevel: 1 });
      expect(receipt.queueOffset).toBe(-1);
      return receipt.msgId;
    });

    await waitFor(() => seen.size >= 200, { what: 'delayed messages moved' });
    await killThrice(
      name,
      'scheduler',
      (at) => seen.size >= at + 200,
      () => seen.size,
    );
    await stopLoad(load);

    expect(untyped(load.failures)).toEqual([]);
    await settleFor(() => missing(load.acked, seen).length === 0, { timeoutMs: 15_000, what: 'every delayed message delivered' });
    expect(missing(load.acked, seen)).toEqual([]);
    console.log(`scheduler kills: ${load.acked.length} delayed sends acknowledged, ${seen.size} delivered; logged: ${String(logs.get(name))}`);
  });

  it('topic look-up (consumer pool) killed under a first send: send, sendHalf and consumer start reject with HeraldErrors, then work', async () => {
    const name = uniqueName('fi-lookup');
    const setup = await namedBroker(uniqueName('fi-lookup-setup'));
    const topic = uniqueName('fi-lookup');
    await setup.admin.createTopic(topic, { queues: 2 });
    // a broker that has not looked the topic up yet: its first use reads `topics` on the consumer pool
    const broker = await namedBroker(name);
    const producer = broker.producer({ group: 'fi-lookup' });
    const tx = broker.transactionProducer({ group: uniqueName('fi-lookup-tx'), checker: () => 'COMMIT' });
    const consumer = broker.pushConsumer({ group: uniqueName('fi-lookup-readers'), subscriptions: { [topic]: '*' }, handler: () => undefined });
    // holds the look-ups in flight (waiting on this lock, well within lockTimeout) so the kill lands on them
    const locker = new Client({ connectionString: db.url, application_name: 'fault-locker' });
    await locker.connect();
    const outcomes: Promise<unknown>[] = [];
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${broker.options.schema}.topics IN ACCESS EXCLUSIVE MODE`);
      const settled = (p: Promise<unknown>): Promise<unknown> =>
        p.then(
          () => 'resolved',
          (error: unknown) => error,
        );
      outcomes.push(settled(producer.send({ topic, body: 'first' })), settled(tx.sendHalf({ topic, body: 'first half' })), settled(consumer.start()));
      await waitFor(
        async () => {
          const { rows } = await killer.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND wait_event_type = 'Lock'",
            [`${name}:consumer`],
          );
          return rows[0].n > 0;
        },
        { what: 'a topic look-up waiting on the lock' },
      );
      const killed = await kill(name, 'consumer');
      expect(killed.length).toBeGreaterThan(0);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    const failures = (await Promise.all(outcomes)).filter((outcome) => outcome !== 'resolved');
    // the same broker recovers by itself
    expect((await producer.send({ topic, body: 'after' })).queueOffset).toBeGreaterThanOrEqual(0);
    await tx.sendHalf({ topic, body: 'half after' });
    // and the kill must not have leaked a raw driver error to any caller
    expect(untyped(failures)).toEqual([]);
  });
});
