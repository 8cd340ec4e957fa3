import { createDb, migrateToLatest } from '../../lib/db.js';
import { createLogger } from '../../lib/logger.js';
import { createAuditLog } from '../audit/audit.service.js';
import { loadAuthConfig } from '../config.js';
import type { Database } from '../database.js';
import { authMigrations } from '../migrations/index.js';
import { createKeyEncryption } from './key-encryption.js';
import { createKeyStore } from './keys.service.js';
import { rotateSigningKeys } from './rotate-signing-keys.js';

// Operator command (`*.command.ts`: run, not imported): `node --import tsx
// auth/keys/rotate-keys.command.ts`. Run it on a schedule; each run removes keys whose tokens have
// all expired and publishes a fresh key, which takes over signing after
// AUTH_KEY_ACTIVATION_DELAY_SECONDS. See docs/auth.md.
const config = loadAuthConfig();
const log = createLogger('auth-rotate-keys', config.LOG_LEVEL);
const { db } = createDb<Database>(config.AUTH_DATABASE_URL, { name: 'velora-auth-rotate', max: 2 });
try {
  await migrateToLatest(db, authMigrations);
  const keys = createKeyStore({
    db,
    encryption: createKeyEncryption(config.AUTH_KEY_ENCRYPTION_KEY),
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    activationDelaySeconds: config.AUTH_KEY_ACTIVATION_DELAY_SECONDS,
  });
  const result = await rotateSigningKeys(
    { keys, audit: createAuditLog({ db, log }) },
    { actor: 'operator:rotate-keys' },
  );
  log.info(
    {
      kid: result.kid,
      activates_at: result.activatesAt.toISOString(),
      retired_kid: result.retiredKid,
      removed_kids: result.removed,
    },
    'signing keys rotated',
  );
} finally {
  await db.destroy();
}
