import { stackDir } from '../../scripts/stack/paths.js';
import { PROFILES } from '../../scripts/stack/profile.js';
import { stackDown, stackUp } from '../../scripts/stack/stack.js';
import { TEST_ENV } from './test-env.js';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Global setup of the e2e project: starts the whole system with the `test` profile exactly as
 * `scripts/velora up` starts it (other ports and databases), and exports its URLs.
 */
export default async function setup() {
  const profile = PROFILES.test;
  const dir = stackDir(profile.name);
  mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'stack-setup.log');
  const { env } = await stackUp(profile, {
    fresh: process.env.VELORA_TEST_FRESH === '1',
    log: (line) => appendFileSync(logFile, `${line}\n`),
  });
  Object.assign(process.env, {
    [TEST_ENV.gatewayUrl]: `http://127.0.0.1:${profile.ports.gateway}`,
    [TEST_ENV.authUrl]: `http://127.0.0.1:${profile.ports.auth}`,
    [TEST_ENV.walletUrl]: `http://127.0.0.1:${profile.ports.wallet}`,
    TEST_STACK_ADMIN_EMAIL: env.VELORA_ADMIN_EMAIL,
    TEST_STACK_ADMIN_PASSWORD: env.VELORA_ADMIN_PASSWORD,
    TEST_STACK_TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS,
    TEST_STACK_MONGO_URL: env.MONGO_URL,
    TEST_STACK_MONGO_DB: env.WALLET_MONGO_DB,
    TEST_STACK_WALLET_DATABASE_URL: env.WALLET_DATABASE_URL,
    TEST_STACK_ORCHESTRATOR_CLIENT_ID: env.ORCHESTRATOR_CLIENT_ID,
    TEST_STACK_ORCHESTRATOR_CLIENT_SECRET: env.ORCHESTRATOR_CLIENT_SECRET,
  });
  // The services always stop (a later run must not test yesterday's code); Temporal and the
  // MongoDB wire server only when the run was asked to leave nothing behind.
  return async () => {
    await stackDown(profile, () => undefined, { servicesOnly: process.env.VELORA_TEST_STOP !== '1' });
  };
}
