import { HeraldError } from './herald.error';

/** An admin call named a consumer group the broker has never seen. */
export class GroupNotFoundError extends HeraldError {
  constructor(readonly group: string) {
    super('GROUP_NOT_FOUND', `Consumer group "${group}" is unknown to the broker`, { group });
  }
}
