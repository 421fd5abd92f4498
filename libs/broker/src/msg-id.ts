import { randomBytes } from 'node:crypto';

/** Random per process, like the address/pid part of RocketMQ's msgId. */
const PROCESS_PART = randomBytes(4).toString('hex').toUpperCase();
const COUNTER_SPAN = 2 ** 48;
let counter = randomBytes(6).readUIntBE(0, 6);

/**
 * 32 upper-case hex characters: 12 of milliseconds since the epoch, 8 random per
 * process, 12 of a per-process counter. Unique without a random draw per message
 * (which cost ~2.6% of the send path in a profile); time first keeps the msg_id
 * index appending at its right edge.
 */
export function newMsgId(now: number = Date.now()): string {
  counter = (counter + 1) % COUNTER_SPAN;
  return now.toString(16).padStart(12, '0').toUpperCase() + PROCESS_PART + counter.toString(16).padStart(12, '0').toUpperCase();
}
