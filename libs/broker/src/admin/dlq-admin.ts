import type { BrokerContext } from '../broker-context';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { errorText } from '../logger';
import type { MessageView } from '../message';
import { intOption } from '../option-limits';
import { countDeadLetters, DeadLetterFilter, deadLetterPage, purgeDeadLetters } from '../store/dead-letters';
import { topicMessages } from '../store/messages';
import { StoredMessage, storedCopy, toMessageView } from '../stored-message';
import { DeliveryFailure, storedFailure } from '../failure';
import { dlqTopicOf, retryTopicOf } from '../topic-name';
import { textProblem } from '../util/text';
import { toEpochMs } from '../util/time';

/** A dead letter, with the failure that put it there. */
export interface DeadLetter extends MessageView {
  /** The last delivery's failure (null for a copy stored before Herald recorded failures). */
  lastError: DeliveryFailure | null;
}

/** Which dead letters: these msgIds, all of them, or those stored in a time range (`from` inclusive, `to` exclusive). */
export type DeadLetterSelection = readonly string[] | 'all' | { from?: Date | number; to?: Date | number };

export type ResendOutcome = 'resent' | 'not found' | `failed: ${string}`;

export interface DlqResendReport {
  resent: number;
  notFound: number;
  failed: number;
  /** One entry per selected msgId (per dead letter for `all` and time ranges), in DLQ order, then the ids not found. */
  results: { msgId: string; outcome: ResendOutcome }[];
}

/** Called after each page of a bulk operation: `done` of `total`. */
export type Progress = (done: number, total: number) => void;

const PAGE = 256;

export function toFilter(selection: DeadLetterSelection): DeadLetterFilter {
  if (selection === 'all') return { msgIds: null, from: null, to: null };
  if (Array.isArray(selection)) {
    if (selection.length === 0 || selection.length > 10_000 || selection.some((id) => typeof id !== 'string' || textProblem(id) !== null)) {
      throw new InvalidOptionsError('msgIds', "must be 1 to 10 000 msgIds, 'all' or { from, to }");
    }
    return { msgIds: [...new Set(selection)], from: null, to: null };
  }
  if (selection === null || typeof selection !== 'object') throw new InvalidOptionsError('msgIds', "must be an array of msgIds, 'all' or { from, to }");
  const range = selection as { from?: Date | number; to?: Date | number };
  const from = range.from === undefined ? null : new Date(toEpochMs(range.from, 'from'));
  const to = range.to === undefined ? null : new Date(toEpochMs(range.to, 'to'));
  if (from !== null && to !== null && from >= to) throw new InvalidOptionsError('to', 'must be after from');
  return { msgIds: null, from, to };
}

export function toDeadLetter(row: StoredMessage): DeadLetter {
  return { ...toMessageView(row), lastError: storedFailure(row.properties) };
}

/** One dead letter as an NDJSON line: the message, base64 body, and why it is there. */
function exportLine(row: StoredMessage): string {
  const view = toDeadLetter(row);
  return `${JSON.stringify({
    msgId: view.msgId,
    topic: view.topic,
    tag: view.tag ?? null,
    keys: view.keys,
    messageGroup: view.messageGroup ?? null,
    properties: view.properties,
    bornAt: view.bornAt.toISOString(),
    storedAt: view.storedAt.toISOString(),
    reconsumeTimes: view.reconsumeTimes,
    lastError: view.lastError,
    body: view.body.toString('base64'),
  })}\n`;
}

/** A group's dead-letter queue for operators: list, resend with a per-message report, export, purge. */
export class DlqAdmin {
  constructor(private readonly ctx: BrokerContext) {}

  async list(group: string, options: { limit?: number; fromOffset?: number }): Promise<DeadLetter[]> {
    const limit = intOption(options.limit, 'limit', 100, 1, 10_000);
    const fromOffset = intOption(options.fromOffset, 'fromOffset', 0, 0, Number.MAX_SAFE_INTEGER);
    return (await topicMessages(this.ctx.pool, dlqTopicOf(group), limit, fromOffset)).map(toDeadLetter);
  }

  /** Pages through the selected dead letters, each page bounded by count and by bytes. */
  private async *pages(group: string, filter: DeadLetterFilter): AsyncGenerator<StoredMessage[]> {
    let after = -1;
    for (;;) {
      const page = await deadLetterPage(this.ctx.pool, dlqTopicOf(group), after, filter, PAGE, this.ctx.options.maxFlushBytes);
      if (page.length === 0) return;
      yield page;
      after = page[page.length - 1].queueOffset;
    }
  }

  async resend(group: string, filter: DeadLetterFilter, onProgress?: Progress): Promise<DlqResendReport> {
    const total = await countDeadLetters(this.ctx.pool, dlqTopicOf(group), filter);
    const results: DlqResendReport['results'] = [];
    const seen = new Set<string>();
    for await (const page of this.pages(group, filter)) {
      // one submission per message: a message the store refuses fails alone, and says why
      const settled = await Promise.allSettled(
        page.map((row) => this.ctx.appender.submit([{ ...storedCopy(row), topic: retryTopicOf(group), reconsumeTimes: 0, delayMs: 0 }])),
      );
      settled.forEach((outcome, i) => {
        seen.add(page[i].msgId);
        results.push({ msgId: page[i].msgId, outcome: outcome.status === 'fulfilled' ? 'resent' : `failed: ${errorText(outcome.reason).slice(0, 500)}` });
      });
      onProgress?.(results.length, total);
    }
    for (const msgId of filter.msgIds ?? []) if (!seen.has(msgId)) results.push({ msgId, outcome: 'not found' });
    const count = (pick: (outcome: ResendOutcome) => boolean): number => results.filter((r) => pick(r.outcome)).length;
    return { resent: count((o) => o === 'resent'), notFound: count((o) => o === 'not found'), failed: count((o) => o.startsWith('failed')), results };
  }

  async *export(group: string, selection: DeadLetterSelection, onProgress?: Progress): AsyncGenerator<string> {
    const filter = toFilter(selection);
    const total = await countDeadLetters(this.ctx.pool, dlqTopicOf(group), filter);
    let done = 0;
    for await (const page of this.pages(group, filter)) {
      for (const row of page) yield exportLine(row);
      done += page.length;
      onProgress?.(done, total);
    }
  }

  /** Deletes dead letters: all, or those stored before `before`; returns how many. */
  async purge(group: string, before: Date | number | undefined, onProgress?: Progress): Promise<number> {
    const cutoff = before === undefined ? null : new Date(toEpochMs(before, 'before'));
    const topic = dlqTopicOf(group);
    const total = await countDeadLetters(this.ctx.pool, topic, { msgIds: null, from: null, to: cutoff });
    let deleted = 0;
    for (;;) {
      const n = await purgeDeadLetters(this.ctx.pool, topic, cutoff, 10_000);
      deleted += n;
      if (n > 0) onProgress?.(deleted, total);
      if (n < 10_000) return deleted;
    }
  }
}
