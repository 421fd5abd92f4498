/** Topics, tags and event bodies shared by the sample's services: their whole contract. */
export const ORDER_EVENTS = 'order-events';
export const INVENTORY_EVENTS = 'inventory-events';
export const LOGISTICS_EVENTS = 'logistics-events';

export interface OrderItem {
  sku: string;
  qty: number;
}

/** order-events, tag OrderCreated */
export interface OrderCreated {
  orderId: string;
  customerId: string;
  items: OrderItem[];
}

/** inventory-events, tag StockReserved */
export interface StockReserved {
  orderId: string;
  items: OrderItem[];
}

/** inventory-events, tag StockRejected */
export interface StockRejected {
  orderId: string;
  reason: string;
}

/** logistics-events, tag ShipmentCreated */
export interface ShipmentCreated {
  orderId: string;
  shipmentId: string;
}

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED' | 'SHIPPED';

/** GET /orders/changes */
export interface OrderChange {
  id: string;
  status: OrderStatus;
  customerId: string;
  items: OrderItem[];
  changeSeq: number;
}

export interface OrderChangesPage {
  changes: OrderChange[];
  /** Pass as `since` for the next page. */
  next: number;
}
