import type { OrderItem, OrderStatus } from '../../shared/src/contracts';
import type { Cluster } from './cluster';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what} answered ${status}: ${body}`);
  }
}

async function call<T>(method: string, url: string, body?: unknown, adminToken?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (adminToken !== undefined) headers.authorization = `Bearer ${adminToken}`;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, text, `${method} ${new URL(url).pathname}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface OrderView {
  id: string;
  status: OrderStatus;
  items: OrderItem[];
  history: { event: string; detail: string | null; at: string }[];
}

/** The HTTP calls the demo and the end-to-end tests make: what a user would do with curl. */
export class SampleApi {
  constructor(private readonly cluster: Cluster) {}

  createOrder(customerId: string, items: OrderItem[]): Promise<{ id: string; status: OrderStatus }> {
    return call('POST', `${this.cluster.order.url}/orders`, { customerId, items });
  }

  getOrder(id: string): Promise<OrderView> {
    return call('GET', `${this.cluster.order.url}/orders/${id}`);
  }

  orderStats(): Promise<Record<OrderStatus, number>> {
    return call('GET', `${this.cluster.order.url}/orders/stats`);
  }

  stock(sku: string): Promise<{ sku: string; available: number; reserved: number }> {
    return call('GET', `${this.cluster.inventory.url}/inventory/${sku}`);
  }

  setStock(sku: string, available: number): Promise<unknown> {
    return call('PUT', `${this.cluster.inventory.url}/inventory/${sku}`, { available });
  }

  shipments(orderId: string): Promise<{ id: string; carrier: string }[]> {
    return call('GET', `${this.cluster.logistics.url}/shipments?orderId=${orderId}`);
  }

  faults(
    service: 'order' | 'inventory' | 'logistics',
    faults: { failNext?: number; poisonSku?: string | null; crashAfterLocalCommit?: boolean },
  ): Promise<unknown> {
    return call('POST', `${this.cluster.services[service].url}/admin/faults`, faults, this.cluster.adminToken);
  }

  reconcile(service: 'inventory' | 'logistics'): Promise<{ checked: number; repaired: number }> {
    return call('POST', `${this.cluster.services[service].url}/admin/reconcile`, undefined, this.cluster.adminToken);
  }

  health(service: 'order' | 'inventory' | 'logistics'): Promise<{ status: string }> {
    return call('GET', `${this.cluster.services[service].url}/health`);
  }
}
