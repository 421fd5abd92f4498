/** Stops the run's PostgreSQL, whatever the tests did. */
export default async function globalTeardown(): Promise<void> {
  const server = globalThis.__HERALD_TEST_SERVER__;
  globalThis.__HERALD_TEST_SERVER__ = undefined;
  await server?.stop();
}
