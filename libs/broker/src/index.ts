export { Broker } from './broker';
export { BrokerOptions, DEFAULT_DELAY_LEVELS, intOption, boolOption } from './broker-options';
export { Producer, ProducerOptions } from './producer/producer';
export {
  TransactionProducer,
  TransactionProducerOptions,
  TransactionChecker,
  TransactionResolution,
  HalfReceipt,
  PreparedHalf,
} from './producer/transaction-producer';
export { PushConsumer } from './consumer/push-consumer';
export { SimpleConsumer, SimpleConsumerOptions, ReceiveOptions, ReceivedMessage } from './consumer/simple-consumer';
export { PushConsumerOptions, MessageHandler, ConsumeResult, ConsumeFromWhere, SubscriptionExpression } from './consumer/push-consumer-options';
export { Admin, TopicInfo, QueueProgress, GroupMember, DeliveryTrace } from './admin/admin';
export { HalfMessageInfo, TransactionStats } from './admin/transaction-admin';
export { Message, MessageView, SendReceipt } from './message';
export { MESSAGE_LIMITS } from './message-validation';
export { BrokerLogger, ConsoleLogger, LogLevel, LogFields, errorText } from './logger';
export { HeraldError } from './errors/herald.error';
export { InvalidOptionsError } from './errors/invalid-options.error';
export { InvalidTopicNameError } from './errors/invalid-topic-name.error';
export { TopicNotFoundError } from './errors/topic-not-found.error';
export { TopicConflictError } from './errors/topic-conflict.error';
export { MessageTooLargeError } from './errors/message-too-large.error';
export { InvalidMessageError } from './errors/invalid-message.error';
export { InvalidFilterExpressionError } from './errors/invalid-filter-expression.error';
export { SchemaVersionTooNewError } from './errors/schema-version.error';
export { IllegalStateError } from './errors/illegal-state.error';
export { GroupNotFoundError } from './errors/group-not-found.error';
export { BrokerStoreError } from './errors/broker-store.error';
export { InvalidReceiptHandleError } from './errors/invalid-receipt-handle.error';
export { TransactionNotFoundError } from './errors/transaction-not-found.error';
export { TransactionAlreadyResolvedError } from './errors/transaction-already-resolved.error';
export { retryTopicOf, dlqTopicOf, assertUserTopicName, isValidGroupName } from './topic-name';
export { migrate, loadMigrations, Migration, MigrationConnection } from './store/migrator';
export { BatchTooLargeError } from './errors/batch-too-large.error';
export { SendQueueFullError } from './errors/send-queue-full.error';
export { BrokerTimeoutError, TimeoutKind } from './errors/broker-timeout.error';
