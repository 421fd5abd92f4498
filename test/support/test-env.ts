/** Where global setup leaves the admin connection string for the test workers. */
export const TEST_ADMIN_URL_ENV = 'HERALD_TEST_ADMIN_URL';
/** The migrated database each test file clones. */
export const TEMPLATE_DATABASE = 'herald_template';

export function adminUrl(): string {
  const url = process.env[TEST_ADMIN_URL_ENV];
  if (!url) throw new Error(`${TEST_ADMIN_URL_ENV} is not set: run tests through jest (global setup)`);
  return url;
}
