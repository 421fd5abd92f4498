/**
 * `@herald/broker/internal`: what Herald's own packages share with the broker — option
 * resolution with the broker's limits, and the migrator their schemas use. Not part of the
 * public API: no semver promise, and applications should not import it.
 */
export { intOption, boolOption, limitedOption, OPTION_LIMITS, SERVICE_SCHEMA_NAME } from './option-limits';
export type { IntLimit } from './option-limits';
export { brokerSchemaFiles, migrate, loadMigrations } from './store/migrator';
export type { Migration, MigrationConnection, SchemaFiles } from './store/migrator';
export { errorText } from './logger';
export { backgroundJobs, metricsRecorder } from './broker';
export type { MetricsRecorder } from './metrics/metrics-recorder';
export type { BackgroundJobs } from './broker';
export { broadcastMemberKey } from './util/keys';
export { within, TIMED_OUT } from './util/timeout';
export { assertGroupName, assertUserTopicName, isValidGroupName } from './topic-name';
