/** Commands that repair: offset resets, dead letters, half messages. */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Command, Option } from 'commander';
import type { Admin } from '../admin/admin';
import { confirm, parseCount, parseTime, printRows, printValue, progressBar, UsageError } from './cli-context';
import { admin } from './command-helpers';

export function offsetCommands(program: Command): void {
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

export function dlqCommands(program: Command): void {
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

export function txCommands(program: Command): void {
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
  tx.command('recheck <transactionId>')
    .description('send a parked half back to check-back now, with its checks reset')
    .action((transactionId: string, _options, command: Command) =>
      admin(command, async (a, g) => {
        await a.recheckHalf(transactionId);
        printValue(g, { transactionId, rechecked: true }, () => `${transactionId} goes back to check-back`);
      }),
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
