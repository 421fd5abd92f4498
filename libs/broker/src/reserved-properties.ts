import { FAILURE_PROPERTIES } from './failure';
import { TRACE_PROPERTIES } from './tracing/tracing';

/** Property names the broker writes itself, with why; users may not set them and consumers do not see them. */
export const RESERVED_PROPERTIES: ReadonlyMap<string, string> = new Map([
  ...TRACE_PROPERTIES.map((name): [string, string] => [name, 'the broker writes it for trace propagation']),
  ...FAILURE_PROPERTIES.map((name): [string, string] => [name, 'the broker writes it with the failure that caused a retry or dead letter']),
]);

const RESERVED_NAMES = [...RESERVED_PROPERTIES.keys()];

/** The properties a consumer sees: the broker's own taken out (a copy only when there are any). */
export function userProperties(properties: Record<string, string>): Record<string, string> {
  let copy: Record<string, string> | null = null;
  for (const name of RESERVED_NAMES) {
    if (!(name in properties)) continue;
    copy ??= { ...properties };
    delete copy[name];
  }
  return copy ?? properties;
}
