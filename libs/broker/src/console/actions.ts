import type { Admin } from '../admin/admin';
import { ConsoleRole, HttpError } from './console-request';
import { href, html, Html, table } from './html';

export interface ActionResult {
  title: string;
  nav: string;
  flash: string;
  body: Html;
}

interface Action {
  role: ConsoleRole;
  run: (admin: Admin, form: URLSearchParams) => Promise<ActionResult>;
}

function field(form: URLSearchParams, name: string): string {
  const value = form.get(name);
  if (value === null || value.trim() === '') throw new HttpError(400, `the form needs ${name}`);
  return value.trim();
}

/** Typed confirmation: the user retypes what is about to change. */
function confirmed(form: URLSearchParams, expected: string): void {
  if ((form.get('confirm') ?? '').trim() !== expected) throw new HttpError(400, `not confirmed: type ${expected} to go ahead`);
}

const back = (label: string, link: string): Html => html`<p><a href="${link}">${label}</a></p>`;

/** The console's mutations: each names the least role it needs, and goes through the audited admin API. */
export const ACTIONS: Record<string, Action> = {
  resend: {
    role: 'operator',
    async run(admin, form) {
      const group = field(form, 'group');
      const ids = form.getAll('msgId');
      const report = await admin.resendDlq(group, form.get('all') === '1' ? 'all' : ids.length > 0 ? ids : []);
      return {
        title: `Dead letters of ${group}`,
        nav: 'groups',
        flash: `resent ${report.resent}, not found ${report.notFound}, failed ${report.failed}`,
        body: html`${table(report.results, [
          ['message', (r) => r.msgId],
          ['outcome', (r) => html`<span class="${r.outcome === 'resent' ? 'ok' : 'bad'}">${r.outcome}</span>`],
        ])}${back('Back to the dead letters', href('dlq', { group }))}`,
      };
    },
  },
  reset: {
    role: 'operator',
    async run(admin, form) {
      const group = field(form, 'group');
      const topic = field(form, 'topic');
      confirmed(form, group);
      const mode = form.get('mode') ?? 'latest';
      const to = mode === 'time' ? Date.parse(field(form, 'time')) : 'latest';
      if (typeof to === 'number' && Number.isNaN(to)) throw new HttpError(400, 'time must be a date and time');
      const reset = await admin.resetOffset(group, topic, to);
      return {
        title: `Group ${group}`,
        nav: 'groups',
        flash: `offsets of ${group} on ${topic} moved; ${reset.liveMembers > 0 ? `${reset.liveMembers} live member(s) follow now` : 'the next member to start begins there'}`,
        body: html`${table(reset.queues, [
          ['queue', (q) => q.queueId],
          ['from', (q) => q.from],
          ['to', (q) => q.to],
          ['skipped', (q) => q.skipped],
          ['replayed', (q) => q.replayed],
        ])}${back('Back to the group', href('group', { name: group }))}`,
      };
    },
  },
  resolve: {
    role: 'operator',
    async run(admin, form) {
      const transactionId = field(form, 'transactionId');
      const outcome = field(form, 'outcome');
      if (outcome !== 'COMMIT' && outcome !== 'ROLLBACK') throw new HttpError(400, 'outcome must be COMMIT or ROLLBACK');
      confirmed(form, outcome);
      await admin.resolveHalf(transactionId, outcome);
      return {
        title: 'Transactions',
        nav: 'transactions',
        flash: `${outcome === 'COMMIT' ? 'committed' : 'rolled back'} ${transactionId}`,
        body: back('Back to the transactions', href('transactions')),
      };
    },
  },
  recheck: {
    role: 'operator',
    async run(admin, form) {
      const transactionId = field(form, 'transactionId');
      await admin.recheckHalf(transactionId);
      return {
        title: 'Transactions',
        nav: 'transactions',
        flash: `${transactionId} goes back to check-back now`,
        body: back('Back to the transactions', href('transactions')),
      };
    },
  },
  purge: {
    role: 'admin',
    async run(admin, form) {
      const group = field(form, 'group');
      confirmed(form, group);
      const deleted = await admin.purgeDlq(group);
      return {
        title: `Dead letters of ${group}`,
        nav: 'groups',
        flash: `deleted ${deleted} dead letter(s)`,
        body: back('Back to the dead letters', href('dlq', { group })),
      };
    },
  },
  'create-topic': {
    role: 'admin',
    async run(admin, form) {
      const name = field(form, 'name');
      const queues = Number(form.get('queues') ?? '8');
      await admin.createTopic(name, { queues });
      return { title: 'Topics', nav: 'topics', flash: `created topic ${name}`, body: back('Back to the topics', href('topics')) };
    },
  },
  'delete-topic': {
    role: 'admin',
    async run(admin, form) {
      const name = field(form, 'name');
      confirmed(form, name);
      await admin.deleteTopic(name);
      return { title: 'Topics', nav: 'topics', flash: `deleted topic ${name}`, body: back('Back to the topics', href('topics')) };
    },
  },
  'delete-group': {
    role: 'admin',
    async run(admin, form) {
      const group = field(form, 'group');
      confirmed(form, group);
      await admin.deleteGroup(group);
      return { title: 'Consumer groups', nav: 'groups', flash: `deleted group ${group}`, body: back('Back to the groups', href('groups')) };
    },
  },
};
