import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SpanRecord } from '../../shared/src/tracing';

/** Every span the services' processes wrote to `dir` (killed ones included), one JSON line each. */
export function readSpans(dir: string): SpanRecord[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.jsonl'))
    .flatMap((file) =>
      readFileSync(join(dir, file), 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as SpanRecord),
    );
}

const isDatabaseSpan = (span: SpanRecord): boolean => span.attributes['db.system.name'] !== undefined || span.attributes['db.system'] !== undefined;

/**
 * One trace as an indented tree of its messaging and HTTP spans (`service  name`), each
 * followed by how many database spans it holds, for the demo's output.
 */
export function traceTree(spans: SpanRecord[], traceId: string): string[] {
  const inTrace = spans.filter((s) => s.traceId === traceId).sort((a, b) => a.startMs - b.startMs);
  const ids = new Set(inTrace.map((s) => s.spanId));
  const lines: string[] = [];
  const visit = (span: SpanRecord, depth: number): void => {
    const children = inTrace.filter((s) => s.parentSpanId === span.spanId);
    const queries = children.filter(isDatabaseSpan).length;
    lines.push(`${'  '.repeat(depth)}${span.service.padEnd(10)} ${span.name}${queries > 0 ? `  (+${queries} database spans)` : ''}`);
    for (const child of children) if (!isDatabaseSpan(child)) visit(child, depth + 1);
  };
  // roots: no parent, or a parent that never ended (a killed process's request)
  for (const root of inTrace.filter((s) => s.parentSpanId === null || !ids.has(s.parentSpanId))) visit(root, 0);
  return lines;
}
