/**
 * Names of the variables the global setup exports to every test process, and readers that
 * fail with a clear message when a test runs without the setup.
 */
export const TEST_ENV = {
  authDatabaseUrl: 'TEST_AUTH_DATABASE_URL',
  walletDatabaseUrl: 'TEST_WALLET_DATABASE_URL',
  redisUrl: 'TEST_REDIS_URL',
  mongoUrl: 'TEST_MONGO_URL',
  mongoDb: 'TEST_MONGO_DB',
  temporalAddress: 'TEST_TEMPORAL_ADDRESS',
  gatewayUrl: 'TEST_GATEWAY_URL',
  authUrl: 'TEST_AUTH_URL',
  walletUrl: 'TEST_WALLET_URL',
  /** Mailpit of the test profile: its SMTP port and the HTTP API that reads what it caught. */
  smtpPort: 'TEST_SMTP_PORT',
  mailpitUrl: 'TEST_MAILPIT_URL',
} as const;

export function testEnv(key: keyof typeof TEST_ENV): string {
  const name = TEST_ENV[key];
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests through vitest (its global setup provides it)`);
  return value;
}

/** Reads a variable the e2e stack setup exports (TEST_STACK_*), failing clearly without it. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run e2e tests through vitest (the e2e global setup provides it)`);
  return value;
}
