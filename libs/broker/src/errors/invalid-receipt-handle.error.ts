import { HeraldError } from './herald.error';

/**
 * An ack or invisibility change for a received message whose receipt is no longer
 * current: its invisibility ran out and it was handed out again (or acked already).
 */
export class InvalidReceiptHandleError extends HeraldError {
  constructor(
    readonly group: string,
    readonly msgId: string,
  ) {
    super('INVALID_RECEIPT_HANDLE', `Receipt for message ${msgId} in group "${group}" is no longer valid (expired, re-delivered or acked)`, {
      group,
      msgId,
    });
  }
}
