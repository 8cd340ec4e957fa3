import { createClient } from 'redis';
import { createDb, migrateToLatest } from '../lib/db.js';
import { createLogger } from '../lib/logger.js';
import { serveApp } from '../lib/serve.js';
import { startTelemetry } from '../lib/telemetry.js';
import { createAuthApp } from './app.js';
import { loadAuthConfig } from './config.js';
import type { Database } from './database.js';
import { authMigrations } from './migrations/index.js';
import { startHousekeeping } from './housekeeping.js';
import { seedFromConfig } from './seed.js';

// The only place AuthService is wired: config → pools → migrations → keys and seed data → HTTP.
await startTelemetry('auth');
const config = loadAuthConfig();
const log = createLogger('auth', config.LOG_LEVEL);

const { db } = createDb<Database>(config.AUTH_DATABASE_URL, { name: 'velora-auth' });
await migrateToLatest(db, authMigrations);

const redis = createClient({ url: config.REDIS_URL });
redis.on('error', (err: unknown) => log.error({ err }, 'redis error'));
await redis.connect();

const { app, services } = createAuthApp({ config, db, redis, log });
await services.keys.ensureActiveKey();
await seedFromConfig(db, config, log);
const stopHousekeeping = startHousekeeping({ db, keys: services.keys, log });

await serveApp({
  app,
  host: config.AUTH_HOST,
  port: config.AUTH_PORT,
  log,
  onClose: async () => {
    stopHousekeeping();
    await redis.close();
    await db.destroy();
  },
});
