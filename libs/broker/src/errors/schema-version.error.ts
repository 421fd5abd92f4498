import { HeraldError } from './herald.error';

/** The database holds a broker schema newer than this build knows: refuse rather than corrupt it. */
export class SchemaVersionTooNewError extends HeraldError {
  constructor(
    readonly schema: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super('SCHEMA_VERSION_TOO_NEW', `Schema "${schema}" is at version ${found}, but this Herald build supports up to ${supported}; upgrade Herald`, {
      schema,
      found,
      supported,
    });
  }
}
