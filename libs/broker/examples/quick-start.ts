// The quick start from the README; `libs/broker/test/examples.spec.ts` runs it.
import { Broker } from '@herald/broker';

async function main(): Promise<void> {
  const broker = await Broker.connect({ connectionString: process.env.BROKER_URL! });
  await broker.admin.createTopic('order-events', { queues: 8 });

  let received: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (received = resolve));
  const consumer = broker.pushConsumer({
    group: 'inventory',
    subscriptions: { 'order-events': 'OrderCreated || OrderPaid' },
    handler: async (msg) => {
      console.log(`${msg.tag} ${msg.keys.join(',')}: ${msg.body.toString()}`);
      received();
      // throw (or return 'RETRY') to have it retried on the decaying schedule
    },
  });
  await consumer.start();

  const producer = broker.producer({ group: 'order-service' });
  const receipt = await producer.send({
    topic: 'order-events',
    tag: 'OrderCreated',
    keys: ['order-1'],
    body: JSON.stringify({ orderId: 'order-1', total: 42 }),
  });
  console.log(`stored as ${receipt.msgId} at queue ${receipt.queueId}, offset ${receipt.queueOffset}`);

  await done; // the consumer has printed it
  await consumer.shutdown();
  await broker.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
