import { join } from 'node:path';
import { schemaAgainstSnapshot } from '../../../test/support/schema-snapshot';
import { useTestDatabase } from '../../../test/support/test-database';

const db = useTestDatabase();

describe('the broker schema', () => {
  it('is what libs/broker/test/schema.snapshot.sql says: a migration that changes it updates the snapshot too (UPDATE_SCHEMA_SNAPSHOT=1)', async () => {
    // the test database is a clone of the template that global setup migrated with the shipped migrations
    const { actual, expected } = await schemaAgainstSnapshot(db.url, 'herald', join(__dirname, 'schema.snapshot.sql'));
    expect(actual).toBe(expected);
  });
});
