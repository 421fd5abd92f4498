import { HeraldError } from './herald.error';

/**
 * Migrating a schema failed: the broker's own, or a service's (`@herald/transaction`'s
 * transaction log and inbox), so the message names the schema and the step, not "the broker".
 */
export class SchemaMigrationError extends HeraldError {
  constructor(
    readonly schema: string,
    readonly step: string,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('SCHEMA_MIGRATION_FAILED', `Migrating schema "${schema}" failed at ${step}: ${detail}`, { schema, step }, { cause });
  }
}
