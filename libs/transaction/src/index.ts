export { HeraldModule } from './herald.module';
// HeraldConfigurableModule: what HeraldModule inherits forRootAsync from
export { HERALD_OPTIONS_TYPE, HERALD_ASYNC_OPTIONS_TYPE, HeraldConfigurableModule } from './herald.module-definition';
export type { HeraldModuleExtras } from './herald.module-definition';
export type { HeraldModuleOptions, ResolvedHeraldOptions, LocalCommitInfo } from './herald-module-options';
export { TransactionalMessage } from './decorators/transactional-message.decorator';
export type { TransactionalMessageOptions, FromResult } from './decorators/transactional-message.decorator';
export { MessageListener } from './decorators/message-listener.decorator';
export type { MessageListenerOptions } from './decorators/message-listener.decorator';
export type { MessageContext } from './receiving/message-context';
export { HeraldHealthIndicator } from './health/herald.health';
export type { HeraldHealthOptions } from './health/herald.health';
export { HeraldRuntime } from './lifecycle/herald-runtime';
export { TransactionLogChecker } from './check-back/transaction-log.checker';
export { TransactionCheckedBackError } from './errors/transaction-checked-back.error';
export { InvalidDecoratedMethodError } from './errors/invalid-decorated-method.error';
export { HeraldConsoleModule } from './console/herald-console.module';
export type { HeraldConsoleModuleOptions } from './console/herald-console.module';
