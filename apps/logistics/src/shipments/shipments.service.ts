import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { TransactionalMessage } from '@herald/transaction';
import { LOGISTICS_EVENTS, ShipmentCreated } from '../../../shared/src/contracts';
import { Shipment } from './shipment.entity';

const CARRIERS = ['DHL', 'UPS', 'SF Express'];

@Injectable()
export class ShipmentsService {
  constructor(@InjectRepository(Shipment) private readonly shipments: Repository<Shipment>) {}

  /** One shipment per order, whether the message or reconciliation gets there first; ShipmentCreated commits with it. */
  async ship(orderId: string, source: 'message' | 'reconciliation'): Promise<boolean> {
    await this.shipments.query('SELECT pg_advisory_xact_lock(hashtext($1))', [orderId]);
    if ((await this.shipments.countBy({ orderId })) > 0) return false;
    await this.created(orderId, source);
    return true;
  }

  @TransactionalMessage({
    topic: LOGISTICS_EVENTS,
    tag: 'ShipmentCreated',
    keys: (e: ShipmentCreated) => [e.orderId],
    messageGroup: (e: ShipmentCreated) => e.orderId,
  })
  async created(orderId: string, source: string): Promise<ShipmentCreated> {
    const shipmentId = randomUUID();
    const carrier = CARRIERS[orderId.charCodeAt(0) % CARRIERS.length];
    await this.shipments.insert({ id: shipmentId, orderId, carrier, source });
    return { orderId, shipmentId };
  }

  list(orderId: string): Promise<Shipment[]> {
    return this.shipments.find({ where: { orderId }, order: { createdAt: 'ASC' } });
  }
}
