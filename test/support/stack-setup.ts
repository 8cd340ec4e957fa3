import { stackDir } from '../../scripts/stack/paths.js';
import { isProfileName, PROFILES } from '../../scripts/stack/profile.js';
import { stackDown, stackUp } from '../../scripts/stack/stack.js';
import { TEST_ENV } from './test-env.js';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Global setup of the e2e project: starts the whole system with the `test` profile exactly as
 * `scripts/velora up` starts it (other ports and databases, the same supervisor), and exports
 * its URLs. `VELORA_E2E_PROFILE=scratch` runs the e2e files against the scratch profile instead,
 * e.g. to try the component-killing test without disturbing whoever uses the test stack.
 */
export default async function setup() {
  const profileName = process.env.VELORA_E2E_PROFILE ?? 'test';
  if (!isProfileName(profileName)) throw new Error(`VELORA_E2E_PROFILE: unknown profile ${profileName}`);
  const profile = PROFILES[profileName];
  const dir = stackDir(profile.name);
  mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'stack-setup.log');
  const { env } = await stackUp(profile, {
    fresh: process.env.VELORA_TEST_FRESH === '1',
    log: (line) => appendFileSync(logFile, `${line}\n`),
  });
  Object.assign(process.env, {
    TEST_STACK_PROFILE: profile.name,
    [TEST_ENV.gatewayUrl]: `http://127.0.0.1:${profile.ports.gateway}`,
    [TEST_ENV.authUrl]: `http://127.0.0.1:${profile.ports.auth}`,
    [TEST_ENV.walletUrl]: `http://127.0.0.1:${profile.ports.wallet}`,
    TEST_STACK_ADMIN_EMAIL: env.VELORA_ADMIN_EMAIL,
    TEST_STACK_ADMIN_PASSWORD: env.VELORA_ADMIN_PASSWORD,
    TEST_STACK_TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS,
    TEST_STACK_MONGO_URL: env.MONGO_URL,
    TEST_STACK_MAILPIT_URL: `http://127.0.0.1:${profile.ports.mailpit}`,
    TEST_STACK_MONGO_DB: env.WALLET_MONGO_DB,
    TEST_STACK_WALLET_DATABASE_URL: env.WALLET_DATABASE_URL,
    TEST_STACK_ORCHESTRATOR_CLIENT_ID: env.ORCHESTRATOR_CLIENT_ID,
    TEST_STACK_ORCHESTRATOR_CLIENT_SECRET: env.ORCHESTRATOR_CLIENT_SECRET,
  });
  // The supervisor and the services always stop (a later run must not test yesterday's code);
  // Temporal and the MongoDB wire server only when the run was asked to leave nothing behind.
  return async () => {
    await stackDown(profile, () => undefined, { servicesOnly: process.env.VELORA_TEST_STOP !== '1' });
  };
}
