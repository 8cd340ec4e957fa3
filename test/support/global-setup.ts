import {
  ensureDatabase,
  ensurePostgres,
  ensureRedis,
  flushRedisDatabase,
} from '../../scripts/stack/infrastructure.js';
import { ensureMailpit } from '../../scripts/stack/mailpit.js';
import { dropMongoDatabase, ensureMongo } from '../../scripts/stack/mongo.js';
import { stackDir } from '../../scripts/stack/paths.js';
import { PROFILES, pgUrl } from '../../scripts/stack/profile.js';
import { stopProcess } from '../../scripts/stack/processes.js';
import { ensureTemporal } from '../../scripts/stack/temporal.js';
import { TEST_ENV } from './test-env.js';

const profile = PROFILES.test;
const dir = stackDir('test');
const UNIT = {
  authDb: 'velora_auth_test',
  walletDb: 'velora_wallet_test',
  mongoDb: 'velora_wallet_test',
  redisDb: 15,
};

/**
 * Runs once per vitest project: provides the real infrastructure every test talks to —
 * PostgreSQL databases (dropped and recreated), Redis db 15 (flushed), a MongoDB wire server,
 * a Temporal dev server and Mailpit (SMTP catcher) — and exports their addresses as TEST_* variables.
 */
export default async function setup() {
  const log = (line: string) => console.log(`[test-setup] ${line}`);
  await ensurePostgres(log);
  await ensureRedis(log);
  // Both projects run this setup; only the first may wipe the shared unit databases, and only
  // when asked (the README's test command asks; ad-hoc runs keep data so that several
  // `vitest` processes can share the infrastructure without pulling it from under each other).
  const first = process.env[TEST_ENV.authDatabaseUrl] === undefined && process.env.VELORA_TEST_FRESH === '1';
  const stopAfter = process.env.VELORA_TEST_STOP === '1';
  await ensureDatabase('velora_auth', UNIT.authDb, { fresh: first });
  await ensureDatabase('velora_wallet', UNIT.walletDb, { fresh: first });

  const redisUrl = `redis://127.0.0.1:6379/${UNIT.redisDb}`;
  if (first) {
    await flushRedisDatabase(redisUrl);
  }

  const mongo = await ensureMongo(dir, profile.ports.mongo, profile.databases.ferret, log);
  if (first) await dropMongoDatabase(mongo.url, UNIT.mongoDb);
  const temporalStarted = await ensureTemporal(dir, profile.ports);
  const mailpitStarted = await ensureMailpit(dir, profile.ports);

  Object.assign(process.env, {
    [TEST_ENV.authDatabaseUrl]: pgUrl('velora_auth', UNIT.authDb),
    [TEST_ENV.walletDatabaseUrl]: pgUrl('velora_wallet', UNIT.walletDb),
    [TEST_ENV.redisUrl]: redisUrl,
    [TEST_ENV.mongoUrl]: mongo.url,
    [TEST_ENV.mongoDb]: UNIT.mongoDb,
    [TEST_ENV.temporalAddress]: `127.0.0.1:${profile.ports.temporal}`,
    [TEST_ENV.smtpPort]: String(profile.ports.smtp),
    [TEST_ENV.mailpitUrl]: `http://127.0.0.1:${profile.ports.mailpit}`,
  });

  return async () => {
    if (!stopAfter) return;
    if (temporalStarted) await stopProcess(dir, 'temporal');
    if (mongo.started) await stopProcess(dir, mongo.kind);
    if (mailpitStarted) await stopProcess(dir, 'mailpit');
  };
}
