import type { MessageView } from '@herald/broker';
import { ENCODING_PROPERTY } from '../herald.constants';

/** Buffers pass through; anything else is JSON (`undefined` becomes `null`). */
export function encodeBody(value: unknown): { body: Buffer | string; encoding: 'binary' | 'json' } {
  if (Buffer.isBuffer(value)) return { body: value, encoding: 'binary' };
  return { body: JSON.stringify(value === undefined ? null : value), encoding: 'json' };
}

/**
 * The payload a listener gets: JSON bodies parsed, binary ones as Buffer. Messages sent
 * by plain broker producers carry no encoding property: parsed if they are JSON.
 */
export function decodeBody(view: MessageView): unknown {
  const encoding = view.properties[ENCODING_PROPERTY];
  if (encoding === 'binary') return view.body;
  const text = view.body.toString('utf8');
  if (encoding === 'json') return JSON.parse(text);
  try {
    return JSON.parse(text);
  } catch {
    return view.body;
  }
}
