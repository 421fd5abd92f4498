import { Inject, Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import type { MessageHandler } from '@herald/broker';
import { broadcastMemberKey, errorText } from '@herald/broker/internal';
import type { MetricsRecorder } from '@herald/broker/internal';
import type { DiscoveredListener } from '../discovery/herald.explorer';
import { HERALD_TRANSACTION_HOST } from '../herald.constants';
import { NestBrokerLogger } from '../nest-broker-logger';
import { ServiceStore } from '../store/service-store';
import { decodeBody } from './message-codec';
import { toMessageContext } from './message-context';

/**
 * Builds the broker handler of a @MessageListener: the inbox row and the listener's writes in one
 * local transaction, so a duplicate delivery is skipped and a throw rolls back both and retries.
 */
@Injectable()
export class InboxHandlerFactory {
  constructor(
    private readonly store: ServiceStore,
    private readonly cls: ClsService,
    @Inject(HERALD_TRANSACTION_HOST) private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly logger: NestBrokerLogger,
  ) {}

  /** `metrics`: the broker's recorder (null when its metrics are off), for skipped duplicates. */
  create(listener: DiscoveredListener, metrics: MetricsRecorder | null): MessageHandler {
    const { group, model } = listener.options;
    // broadcast: every instance applies the message, so each keeps its own inbox entries,
    // under the key its consumer keeps its offsets under
    const inboxGroup = model === 'BROADCASTING' ? broadcastMemberKey(group) : group;
    return async (view) => {
      const fields = { group, topic: view.topic, msgId: view.msgId, reconsumeTimes: view.reconsumeTimes };
      try {
        await this.cls.run({ ifNested: 'override' }, () =>
          this.txHost.withTransaction(async () => {
            const claim = await this.store.claimInbox(this.txHost.tx, inboxGroup, view.msgId, view.topic, view.storedAt);
            if (claim === 'DUPLICATE') {
              metrics?.inboxDuplicate(group);
              this.logger.log('info', 'duplicate delivery skipped', fields);
              return;
            }
            if (claim === 'REFUSED') {
              // committed with its REFUSED inbox row and acknowledged: a retry would be a fresh copy, applied unchecked
              this.logger.log(
                'error',
                'delivery past the inbox horizon refused, not applied: it may have been applied before its inbox row was deleted; release it to apply it',
                {
                  ...fields,
                  storedAt: view.storedAt.toISOString(),
                },
              );
              return;
            }
            await listener.method.call(listener.instance, decodeBody(view), toMessageContext(view));
          }),
        );
      } catch (error) {
        this.logger.log('warn', 'listener failed; rolled back, the broker will retry', { ...fields, handler: listener.label, error: errorText(error) });
        throw error;
      }
    };
  }
}
