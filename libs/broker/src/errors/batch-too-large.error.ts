import { HeraldError } from './herald.error';

/** A `sendBatch` is larger in total than the broker's `maxBatchBytes`. */
export class BatchTooLargeError extends HeraldError {
  constructor(
    readonly topic: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super('BATCH_TOO_LARGE', `Batch for topic "${topic}" is ${size} bytes in total; the limit is ${limit} (maxBatchBytes)`, { topic, size, limit });
  }
}
