import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { Command, Option } from 'commander';
import type { Admin } from '../admin/admin';
import type { MessageView } from '../message';
import type * as Pg from 'pg';
import type * as ConsoleServerModule from '../console/console-server';
import { brokerSchemaFiles, migrate, schemaStatus } from '../store/migrator';
import {
  confirm,
  connectionString,
  GlobalOptions,
  lazy,
  NotFoundError,
  parseCount,
  parseTime,
  printRows,
  printValue,
  progressBar,
  UsageError,
  withBroker,
} from './cli-context';

type Action = (admin: Admin, globals: GlobalOptions) => Promise<void>;

/** Runs `action` with an admin recorded in the audit log as `cli:<OS user>@<host>`. */
function admin(command: Command, action: Action): Promise<void> {
  const globals = command.optsWithGlobals<GlobalOptions>();
  return withBroker(globals, (broker) => action(broker.admin.as(`cli:${broker.admin.actor}`), globals));
}

const printable = (body: Buffer): boolean => {
  const text = body.toString('utf8');
  // eslint-disable-next-line no-control-regex -- control characters (other than tab and newlines) mean binary
  return Buffer.from(text, 'utf8').equals(body) && !/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(text);
};

/** A message for output: the body as text when it is printable UTF-8, else base64. */
function messageRecord(m: MessageView): Record<string, unknown> {
  const body = printable(m.body) ? { body: m.body.toString('utf8') } : { bodyBase64: m.body.toString('base64') };
  return {
    msgId: m.msgId,
    topic: m.topic,
    tag: m.tag ?? null,
    keys: m.keys,
    messageGroup: m.messageGroup ?? null,
    properties: m.properties,
    queueId: m.queueId,
    queueOffset: m.queueOffset,
    bornAt: m.bornAt,
    storedAt: m.storedAt,
    reconsumeTimes: m.reconsumeTimes,
    ...body,
  };
}

const MESSAGE_COLUMNS: [string, (m: MessageView) => string | number | Date | null][] = [
  ['MSG_ID', (m) => m.msgId],
  ['QID', (m) => m.queueId],
  ['OFFSET', (m) => m.queueOffset],
  ['TAG', (m) => m.tag ?? null],
  ['KEYS', (m) => m.keys.join(',') || null],
  ['STORED_AT', (m) => m.storedAt],
  ['BYTES', (m) => m.body.length],
];

function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function topicCommands(program: Command): void {
  const topic = program.command('topic').description('topics and their queues');
  topic
    .command('list')
    .description('every topic (the broker’s %RETRY% and %DLQ% ones too) with its queues and stored messages')
    .action((_options, command: Command) =>
      admin(command, async (a, g) => {
        const topics = await a.listTopics();
        printRows(
          g,
          topics.map((t) => ({ name: t.name, queues: t.queues.length, messages: t.queues.reduce((n, q) => n + q.maxOffset - q.minOffset, 0) })),
          [
            ['TOPIC', (t) => t.name],
            ['QUEUES', (t) => t.queues],
            ['MESSAGES', (t) => t.messages],
          ],
        );
      }),
    );
  topic
    .command('create <name>')
    .description('create a topic (the same queue count again is a no-op)')
    .option('--queues <n>', 'queue count (default: the broker’s defaultTopicQueues, 8)')
    .action((name: string, options: { queues?: string }, command: Command) =>
      admin(command, async (a, g) => {
        await a.createTopic(name, options.queues === undefined ? {} : { queues: parseCount(options.queues, '--queues', 1, 1024) });
        printValue(g, { created: name }, () => `created topic ${name}`);
      }),
    );
  topic
    .command('delete <name>')
    .description('delete a topic with its messages, pending retries and offsets')
    .action((name: string, _options, command: Command) =>
      admin(command, async (a, g) => {
        await confirm(g, `Delete topic "${name}" with all its messages?`);
        const existed = await a.deleteTopic(name);
        if (!existed) throw new NotFoundError(`topic "${name}" does not exist`);
        printValue(g, { deleted: name }, () => `deleted topic ${name}`);
      }),
    );
  topic
    .command('status <name>')
    .description('per queue: min and max offset; and the messages in per second')
    .action((name: string, _options, command: Command) =>
      admin(command, async (a, g) => {
        const found = (await a.listTopics()).find((t) => t.name === name);
        if (!found) throw new NotFoundError(`topic "${name}" does not exist`);
        const rate = (await a.rates()).topics.find((t) => t.topic === name)?.inPerSecond ?? 'unknown';
        if (g.json === true || g.ndjson === true) {
          printValue(g, { ...found, inPerSecond: rate }, () => '');
          return;
        }
        printRows(g, found.queues, [
          ['QID', (q) => q.queueId],
          ['MIN_OFFSET', (q) => q.minOffset],
          ['MAX_OFFSET', (q) => q.maxOffset],
          ['MESSAGES', (q) => q.maxOffset - q.minOffset],
        ]);
        process.stdout.write(`In TPS: ${typeof rate === 'number' ? rate.toFixed(2) : rate}\n`);
      }),
    );
}

function groupCommands(program: Command): void {
  const group = program.command('group').description('consumer groups');
  group
    .command('list')
    .description('every consumer group: model, live members, topics, lag, dead letters')
    .action((_options, command: Command) =>
      admin(command, async (a, g) =>
        printRows(g, await a.listGroups(), [
          ['GROUP', (r) => r.group],
          ['MODEL', (r) => r.model],
          ['MEMBERS', (r) => r.liveMembers],
          ['TOPICS', (r) => r.topics.join(',') || null],
          ['LAG', (r) => r.lag],
          ['DLQ', (r) => r.deadLetters],
        ]),
      ),
    );
  group
    .command('progress <group>')
    .description("mqadmin's consumerProgress: per queue broker and consumer offset, holder, diff (lag), with lag age; then TPS and the total diff")
    .action((name: string, _options, command: Command) =>
      admin(command, async (a, g) => {
        const progress = await a.groupProgress(name);
        const rates = (await a.rates()).groups.filter((r) => r.group === name);
        const tps = rates.reduce<number | 'unknown'>((sum, r) => (sum === 'unknown' || r.outPerSecond === 'unknown' ? 'unknown' : sum + r.outPerSecond), 0);
        const diffTotal = progress.reduce((sum, q) => sum + (q.lag === 'unknown' ? 0 : q.lag), 0);
        if (g.json === true || g.ndjson === true) {
          printValue(g, { group: name, queues: progress, consumeTps: tps, diffTotal }, () => '');
          return;
        }
        printRows(g, progress, [
          ['#TOPIC', (q) => q.topic],
          ['#QID', (q) => q.queueId],
          ['#BROKER_OFFSET', (q) => q.brokerOffset],
          ['#CONSUMER_OFFSET', (q) => q.consumerOffset],
          ['#CLIENT', (q) => q.clientId],
          ['#DIFF', (q) => (q.lag === 'unknown' ? `unknown (${q.lagUnknownReason})` : q.lag)],
          ['#LAG_AGE_MS', (q) => q.lagAgeMs],
        ]);
        process.stdout.write(`\nConsume TPS: ${typeof tps === 'number' ? tps.toFixed(2) : tps}\nDiff Total: ${diffTotal}\n`);
      }),
    );
  group
    .command('members <group>')
    .description('live members and the queues each holds')
    .action((name: string, _options, command: Command) =>
      admin(command, async (a, g) =>
        printRows(g, await a.groupMembers(name), [
          ['CLIENT_ID', (m) => m.clientId],
          ['HOST', (m) => m.host],
          ['PID', (m) => m.pid],
          ['STARTED_AT', (m) => m.startedAt],
          ['HEARTBEAT_AT', (m) => m.heartbeatAt],
          ['QUEUES', (m) => m.queues.map((q) => `${q.topic}:${q.queueId}`).join(',') || null],
        ]),
      ),
    );
  group
    .command('delete <group>')
    .description('delete a group with its offsets and its retry and dead-letter topics (refused while members live)')
    .action((name: string, _options, command: Command) =>
      admin(command, async (a, g) => {
        await confirm(g, `Delete consumer group "${name}" with its offsets and dead letters?`);
        if (!(await a.deleteGroup(name))) throw new NotFoundError(`consumer group "${name}" does not exist`);
        printValue(g, { deleted: name }, () => `deleted group ${name}`);
      }),
    );
}

function messageCommands(program: Command): void {
  const msg = program.command('msg').description('find, send and follow messages');
  msg
    .command('get <msgId>')
    .description('a message by msgId, with its delivery trace (copies, groups, retries, dead letters)')
    .action((msgId: string, _options, command: Command) =>
      admin(command, async (a, g) => {
        const found = await a.queryMessage(msgId);
        if (!found) throw new NotFoundError(`message ${msgId} is not stored`);
        const record = { ...messageRecord(found.message), trace: found.trace };
        printValue(g, record, () => JSON.stringify(record, null, 2));
      }),
    );
  msg
    .command('by-key <topic> <key>')
    .description("a topic's messages carrying a business key, with their retry and DLQ copies")
    .option('--limit <n>', 'at most this many', '64')
    .action((topic: string, key: string, options: { limit: string }, command: Command) =>
      admin(command, async (a, g) =>
        printRows(g, await a.queryMessagesByKey(topic, key, { limit: parseCount(options.limit, '--limit', 1, 10_000) }), MESSAGE_COLUMNS),
      ),
    );
  msg
    .command('by-time <topic>')
    .description("a topic's messages stored in a time range, oldest first, a page at a time")
    .option('--from <time>', 'ISO time, epoch ms or relative (-15m)', '-1h')
    .option('--to <time>', 'ISO time, epoch ms or relative; default now')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed')
    .action((topic: string, options: { from: string; to?: string; limit: string; cursor?: string }, command: Command) =>
      admin(command, async (a, g) => {
        const page = await a.queryMessagesByTime(topic, {
          from: parseTime(options.from, '--from'),
          ...(options.to !== undefined ? { to: parseTime(options.to, '--to') } : {}),
          limit: parseCount(options.limit, '--limit', 1, 1_000),
          ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
        });
        if (g.json === true) {
          printValue(g, { messages: page.messages.map(messageRecord), nextCursor: page.nextCursor }, () => '');
          return;
        }
        if (g.ndjson === true) {
          for (const m of page.messages) process.stdout.write(`${JSON.stringify(messageRecord(m))}\n`);
          return;
        }
        printRows(g, page.messages, MESSAGE_COLUMNS);
        if (page.nextCursor !== null) process.stdout.write(`next page: --cursor ${page.nextCursor}\n`);
      }),
    );
  msg
    .command('send <topic>')
    .description('send one message (body from --body, --body-file, or standard input)')
    .option('--body <text>', 'the body as text')
    .option('--body-file <path>', 'the body from a file, as bytes')
    .option('--tag <tag>', 'tag')
    .option('--key <key>', 'business key (repeatable)', repeatable)
    .option('--property <name=value>', 'user property (repeatable)', repeatable)
    .option('--message-group <group>', 'FIFO message group')
    .option('--delay <ms>', 'deliver after this many ms')
    .action(
      (
        topic: string,
        options: { body?: string; bodyFile?: string; tag?: string; key?: string[]; property?: string[]; messageGroup?: string; delay?: string },
        command: Command,
      ) =>
        admin(command, async (_a, g) => {
          if (options.body !== undefined && options.bodyFile !== undefined) throw new UsageError('give --body or --body-file, not both');
          const body =
            options.body !== undefined
              ? Buffer.from(options.body)
              : options.bodyFile !== undefined
                ? readFileSync(options.bodyFile)
                : readFileSync(process.stdin.fd);
          const properties: Record<string, string> = {};
          for (const pair of options.property ?? []) {
            const at = pair.indexOf('=');
            if (at <= 0) throw new UsageError(`--property must be name=value; got "${pair}"`);
            properties[pair.slice(0, at)] = pair.slice(at + 1);
          }
          const receipt = await withBroker(g, (broker) =>
            broker.producer({ group: 'herald-cli' }).send({
              topic,
              body,
              ...(options.tag !== undefined ? { tag: options.tag } : {}),
              ...(options.key !== undefined ? { keys: options.key } : {}),
              ...(options.messageGroup !== undefined ? { messageGroup: options.messageGroup } : {}),
              ...(Object.keys(properties).length > 0 ? { properties } : {}),
              ...(options.delay !== undefined ? { delayMs: parseCount(options.delay, '--delay', 1, 365 * 86_400_000) } : {}),
            }),
          );
          printValue(g, receipt, () => `sent ${receipt.msgId} to ${receipt.topic} queue ${receipt.queueId} offset ${receipt.queueOffset}`);
        }),
    );
  msg
    .command('tail <topic>')
    .description('print messages as they are stored (from now, or --from), until Ctrl-C or --count')
    .option('--from <time>', 'start here instead of now (ISO time, epoch ms or relative)')
    .option('--count <n>', 'stop after this many messages')
    .option('--interval <ms>', 'how often to look, ms', '500')
    .action((topic: string, options: { from?: string; count?: string; interval: string }, command: Command) =>
      admin(command, async (a, g) => {
        const limit = options.count === undefined ? Number.POSITIVE_INFINITY : parseCount(options.count, '--count');
        const interval = parseCount(options.interval, '--interval', 50, 60_000);
        const from = options.from === undefined ? Date.now() : parseTime(options.from, '--from');
        let cursor: string | undefined;
        let printed = 0;
        let stopped = false;
        const stop = (): void => {
          stopped = true;
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          while (!stopped && printed < limit) {
            const page = await a.queryMessagesByTime(topic, { from, to: Date.now() + 60_000, limit: 200, ...(cursor !== undefined ? { cursor } : {}) });
            for (const m of page.messages.slice(0, limit - printed)) {
              const record = messageRecord(m);
              process.stdout.write(
                g.json === true || g.ndjson === true
                  ? `${JSON.stringify(record)}\n`
                  : `${m.storedAt.toISOString()}  ${m.msgId}  ${m.tag ?? '-'}  ${printable(m.body) ? m.body.toString('utf8') : `base64:${m.body.toString('base64')}`}\n`,
              );
              printed += 1;
            }
            // after the last message seen: the next look starts there, whatever arrived meanwhile
            cursor = page.endCursor ?? cursor;
            if (page.messages.length < 200) await new Promise((resolve) => setTimeout(resolve, interval));
          }
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      }),
    );
}

function offsetCommands(program: Command): void {
  const offset = program.command('offset').description("a group's offsets");
  offset
    .command('reset <group> <topic>')
    .description('move a group to a time, to the end, or to given offsets per queue; --dry-run shows from → to and what is skipped or replayed')
    .addOption(
      new Option('--to-time <time>', 'the first message stored at or after this time (ISO, epoch ms, or relative -1h)').conflicts(['toOffset', 'latest']),
    )
    .addOption(new Option('--to-offset <queue=offset...>', 'explicit offsets, e.g. 0=120 1=98').conflicts(['latest']))
    .option('--latest', 'the end of every queue: lag 0')
    .option('--dry-run', 'only report what would move')
    .action((group: string, topic: string, options: { toTime?: string; toOffset?: string[]; latest?: boolean; dryRun?: boolean }, command: Command) =>
      admin(command, async (a, g) => {
        const chosen = [options.toTime !== undefined, options.toOffset !== undefined, options.latest === true].filter(Boolean).length;
        if (chosen !== 1) throw new UsageError('give exactly one of --to-time, --to-offset, --latest');
        let to: Parameters<Admin['resetOffset']>[2];
        if (options.latest === true) to = 'latest';
        else if (options.toTime !== undefined) to = parseTime(options.toTime, '--to-time');
        else {
          const offsets: Record<number, number> = {};
          for (const pair of options.toOffset ?? []) {
            const match = /^(\d+)=(\d+)$/.exec(pair);
            if (!match) throw new UsageError(`--to-offset takes queue=offset pairs; got "${pair}"`);
            offsets[Number(match[1])] = Number(match[2]);
          }
          to = { offsets };
        }
        const dryRun = options.dryRun === true;
        if (!dryRun) await confirm(g, `Move group "${group}" on topic "${topic}"?`);
        const reset = await a.resetOffset(group, topic, to, { dryRun });
        if (g.json === true || g.ndjson === true) {
          printValue(g, reset, () => '');
          return;
        }
        printRows(g, reset.queues, [
          ['QID', (q) => q.queueId],
          ['FROM', (q) => q.from],
          ['TO', (q) => q.to],
          ['SKIPPED', (q) => q.skipped],
          ['REPLAYED', (q) => q.replayed],
        ]);
        process.stdout.write(
          dryRun
            ? 'dry run: nothing changed\n'
            : `applied; ${reset.liveMembers > 0 ? `${reset.liveMembers} live member(s) follow now` : 'no live member: the next to start begins there'}\n`,
        );
      }),
    );
}

/** The dead letters a dlq command acts on: msgIds, --all, or a --from/--to range. */
function selection(ids: string[], options: { all?: boolean; from?: string; to?: string }, fallbackAll: boolean): Parameters<Admin['resendDlq']>[1] {
  const range = options.from !== undefined || options.to !== undefined;
  const kinds = [ids.length > 0, options.all === true, range].filter(Boolean).length;
  if (kinds > 1) throw new UsageError('give msgIds, --all, or --from/--to, not several');
  if (ids.length > 0) return ids;
  if (range)
    return {
      ...(options.from !== undefined ? { from: parseTime(options.from, '--from') } : {}),
      ...(options.to !== undefined ? { to: parseTime(options.to, '--to') } : {}),
    };
  if (options.all === true || fallbackAll) return 'all';
  throw new UsageError('say which dead letters: msgIds, --all, or --from/--to');
}

function dlqCommands(program: Command): void {
  const dlq = program.command('dlq').description("a group's dead-letter queue");
  dlq
    .command('list <group>')
    .description('dead letters, oldest first, with the failure that put each there')
    .option('--limit <n>', 'at most this many', '100')
    .option('--from-offset <n>', 'start at this DLQ offset', '0')
    .action((group: string, options: { limit: string; fromOffset: string }, command: Command) =>
      admin(command, async (a, g) =>
        printRows(
          g,
          await a.listDlq(group, {
            limit: parseCount(options.limit, '--limit', 1, 10_000),
            fromOffset: parseCount(options.fromOffset, '--from-offset', 0, Number.MAX_SAFE_INTEGER),
          }),
          [
            ['MSG_ID', (d) => d.msgId],
            ['TOPIC', (d) => d.topic],
            ['TAG', (d) => d.tag ?? null],
            ['ATTEMPTS', (d) => d.reconsumeTimes + 1],
            ['STORED_AT', (d) => d.storedAt],
            ['LAST_ERROR', (d) => (d.lastError === null ? null : `${d.lastError.type}: ${d.lastError.message}`.slice(0, 120))],
          ],
        ),
      ),
    );
  dlq
    .command('resend <group> [msgIds...]')
    .description('send dead letters back to the group (msgIds, --all, or --from/--to), each reported resent / not found / failed')
    .option('--all', 'every dead letter of the group')
    .option('--from <time>', 'stored at or after (ISO, epoch ms, relative)')
    .option('--to <time>', 'stored before')
    .action((group: string, ids: string[], options: { all?: boolean; from?: string; to?: string }, command: Command) =>
      admin(command, async (a, g) => {
        const bar = progressBar(g, 'resend');
        const report = await a.resendDlq(group, selection(ids, options, false), { onProgress: bar.update }).finally(bar.stop);
        if (g.json === true || g.ndjson === true) printValue(g, report, () => '');
        else {
          printRows(g, report.results, [
            ['MSG_ID', (r) => r.msgId],
            ['OUTCOME', (r) => r.outcome],
          ]);
          process.stdout.write(`resent ${report.resent}, not found ${report.notFound}, failed ${report.failed}\n`);
        }
        if (report.failed > 0) process.exitCode = 1;
      }),
    );
  dlq
    .command('export <group> [msgIds...]')
    .description('dead letters as NDJSON (base64 bodies), all by default, to --out or standard output')
    .option('--all', 'every dead letter (the default)')
    .option('--from <time>', 'stored at or after')
    .option('--to <time>', 'stored before')
    .option('--out <file>', 'write here instead of standard output')
    .action((group: string, ids: string[], options: { all?: boolean; from?: string; to?: string; out?: string }, command: Command) =>
      admin(command, async (a, g) => {
        const out = options.out === undefined ? process.stdout : createWriteStream(options.out);
        const bar = progressBar(g, 'export');
        let count = 0;
        try {
          for await (const line of a.exportDlq(group, selection(ids, options, true), { onProgress: bar.update })) {
            count += 1;
            if (!out.write(line)) await once(out, 'drain');
          }
        } finally {
          bar.stop();
          if (out !== process.stdout) await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
        }
        if (options.out !== undefined) process.stderr.write(`exported ${count} dead letter(s) to ${options.out}\n`);
      }),
    );
  dlq
    .command('purge <group>')
    .description("delete a group's dead letters: all, or those stored before --before")
    .option('--before <time>', 'only those stored before this time')
    .action((group: string, options: { before?: string }, command: Command) =>
      admin(command, async (a, g) => {
        const before = options.before === undefined ? undefined : parseTime(options.before, '--before');
        await confirm(g, `Delete ${before === undefined ? 'every' : 'older'} dead letter(s) of group "${group}"?`);
        const bar = progressBar(g, 'purge');
        const deleted = await a.purgeDlq(group, { ...(before !== undefined ? { before } : {}), onProgress: bar.update }).finally(bar.stop);
        printValue(g, { deleted }, () => `deleted ${deleted} dead letter(s)`);
      }),
    );
}

function txCommands(program: Command): void {
  const tx = program.command('tx').description('transactional (half) messages');
  tx.command('stats')
    .description('per producer group: pending and parked halves, oldest pending age, checks, live members')
    .action((_options, command: Command) =>
      admin(command, async (a, g) =>
        printRows(g, await a.transactionStats(), [
          ['PRODUCER_GROUP', (s) => s.producerGroup],
          ['PENDING', (s) => s.pending],
          ['PARKED', (s) => s.parked],
          ['OLDEST_PENDING_MS', (s) => s.oldestPendingAgeMs],
          ['CHECKS', (s) => s.checksPerformed],
          ['MEMBERS', (s) => s.liveMembers],
        ]),
      ),
    );
  tx.command('list')
    .description('half messages, oldest first')
    .addOption(new Option('--state <state>', 'only pending or parked ones').choices(['pending', 'parked']))
    .option('--group <producerGroup>', 'only this producer group')
    .option('--limit <n>', 'at most this many', '100')
    .action((options: { state?: 'pending' | 'parked'; group?: string; limit: string }, command: Command) =>
      admin(command, async (a, g) =>
        printRows(
          g,
          await a.listHalfMessages({
            ...(options.state !== undefined ? { state: options.state } : {}),
            ...(options.group !== undefined ? { group: options.group } : {}),
            limit: parseCount(options.limit, '--limit', 1, 10_000),
          }),
          [
            ['TRANSACTION_ID', (h) => h.transactionId],
            ['PRODUCER_GROUP', (h) => h.producerGroup],
            ['TOPIC', (h) => h.topic],
            ['MSG_ID', (h) => h.msgId],
            ['STATE', (h) => h.state],
            ['CHECKS', (h) => h.checks],
            ['CREATED_AT', (h) => h.createdAt],
          ],
        ),
      ),
    );
  tx.command('resolve <transactionId>')
    .description('commit or roll back a half message by hand (a parked one, typically)')
    .addOption(new Option('--outcome <outcome>', 'COMMIT or ROLLBACK').choices(['COMMIT', 'ROLLBACK']).makeOptionMandatory())
    .action((transactionId: string, options: { outcome: 'COMMIT' | 'ROLLBACK' }, command: Command) =>
      admin(command, async (a, g) => {
        await confirm(g, `${options.outcome} transaction ${transactionId}?`);
        await a.resolveHalf(transactionId, options.outcome);
        printValue(g, { transactionId, outcome: options.outcome }, () => `${options.outcome === 'COMMIT' ? 'committed' : 'rolled back'} ${transactionId}`);
      }),
    );
}

function schemaCommands(program: Command): void {
  const schema = program.command('schema').description("the broker's database schema");
  schema
    .command('plans')
    .description('print the SQL of every migration and of the functions file, without connecting (for a DBA to review)')
    .action(async () => {
      const files = brokerSchemaFiles();
      for (const migration of files.migrations) process.stdout.write(`-- migration ${migration.version}: ${migration.name}\n${migration.sql.trimEnd()}\n\n`);
      if (files.functions) process.stdout.write(`-- ${files.functions.name} (applied after the migrations, when changed)\n${files.functions.sql.trimEnd()}\n`);
    });
  schema
    .command('version')
    .description('the migrations applied to the schema, against the newest this package has')
    .action(async (_options, command: Command) => {
      const g = command.optsWithGlobals<GlobalOptions>();
      const status = await withSchemaPool(g, (pool, name) => schemaStatus(pool, name));
      printValue(
        g,
        status,
        () =>
          `schema "${status.schema}": version ${status.applied} applied, ${status.newest} in this package${status.applied < status.newest ? ` (${status.newest - status.applied} pending: herald schema migrate)` : status.applied > status.newest ? ' (newer than this package)' : ''}`,
      );
    });
  schema
    .command('migrate')
    .description('apply pending migrations (what every broker does when it connects)')
    .action(async (_options, command: Command) => {
      const g = command.optsWithGlobals<GlobalOptions>();
      const version = await withSchemaPool(g, (pool, name) => migrate(pool, name));
      printValue(g, { schema: g.schema ?? 'herald', version }, () => `schema "${g.schema ?? 'herald'}" at version ${version}`);
    });
}

/** A plain pool on the broker database, for schema commands: they must work before (and without) a migrate. */
async function withSchemaPool<T>(g: GlobalOptions, work: (pool: Pg.Pool, schema: string) => Promise<T>): Promise<T> {
  const { Pool } = lazy<typeof Pg>('pg');
  const pool = new Pool({ connectionString: connectionString(g), max: 1, application_name: 'herald-cli' });
  try {
    return await work(pool, g.schema ?? 'herald');
  } finally {
    await pool.end();
  }
}

export function buildCommands(program: Command): void {
  topicCommands(program);
  groupCommands(program);
  messageCommands(program);
  offsetCommands(program);
  dlqCommands(program);
  txCommands(program);
  schemaCommands(program);
  consoleCommand(program);
}

export function consoleCommand(program: Command): void {
  program
    .command('console')
    .description('serve the web console (loopback only, unless credentials are given: --user and HERALD_CONSOLE_PASSWORD)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0: any free one)', '8080')
    .option('--read-only', 'refuse every change')
    .option('--user <name>', 'require HTTP Basic credentials: this user, with the password in HERALD_CONSOLE_PASSWORD')
    .addOption(new Option('--role <role>', 'what the user may do').choices(['viewer', 'operator', 'admin']).default('admin'))
    .action(async (options: { host: string; port: string; readOnly?: boolean; user?: string; role: 'viewer' | 'operator' | 'admin' }, command: Command) => {
      const g = command.optsWithGlobals<GlobalOptions>();
      const password = process.env.HERALD_CONSOLE_PASSWORD;
      if (options.user !== undefined && (password === undefined || password === ''))
        throw new UsageError('--user needs the password in HERALD_CONSOLE_PASSWORD');
      const { startConsoleServer } = lazy<typeof ConsoleServerModule>('../console/console-server');
      await withBroker(g, async (broker) => {
        const server = await startConsoleServer({
          broker,
          host: options.host,
          port: parseCount(options.port, '--port', 0, 65_535),
          readOnly: options.readOnly === true,
          role: options.role,
          ...(options.user !== undefined && password !== undefined ? { credentials: { user: options.user, password } } : {}),
        });
        process.stdout.write(`Herald console on ${server.url} (${options.readOnly === true ? 'read-only' : options.role}); Ctrl-C stops it\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await server.close();
      });
    });
}
