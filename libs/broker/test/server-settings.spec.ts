import { Client } from 'pg';
import { useTestDatabase } from '@herald/test-support/test-database';
import { FAST, RecordingLogger, useBrokers } from './helpers';

const db = useTestDatabase();
const openBroker = useBrokers(db, FAST);

describe('durability settings at connect', () => {
  it('warns, naming the setting, when the broker database runs with synchronous_commit = off', async () => {
    const quiet = new RecordingLogger();
    await openBroker({ logger: quiet });
    expect(quiet.lines.filter((l) => l.fields?.setting !== undefined)).toEqual([]);

    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', current_database()); END $$");
      const warned = new RecordingLogger();
      await openBroker({ logger: warned });
      expect(warned.lines).toEqual(
        expect.arrayContaining([expect.objectContaining({ level: 'warn', fields: { setting: 'synchronous_commit', value: 'off' } })]),
      );
      expect(warned.lines.find((l) => l.fields?.setting === 'synchronous_commit')?.message).toMatch(/acknowledged messages can be lost/);
    } finally {
      await admin.query("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET synchronous_commit', current_database()); END $$");
      await admin.end();
    }
  });
});
