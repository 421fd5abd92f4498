import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { MessageListenerOptions } from '../decorators/message-listener.decorator';
import type { TransactionalMessageOptions } from '../decorators/transactional-message.decorator';
import { MESSAGE_LISTENER_METADATA, TRANSACTIONAL_MESSAGE_METADATA } from '../herald.constants';

/** The one reader of Herald's decorator metadata. */
@Injectable()
export class HeraldMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- Reflector.get takes any function (a decorated method)
  transactionalMessage(method: Function): TransactionalMessageOptions | undefined {
    return this.reflector.get<TransactionalMessageOptions | undefined>(TRANSACTIONAL_MESSAGE_METADATA, method);
  }

  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- Reflector.get takes any function (a decorated method)
  messageListener(method: Function): MessageListenerOptions | undefined {
    return this.reflector.get<MessageListenerOptions | undefined>(MESSAGE_LISTENER_METADATA, method);
  }
}
