import { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import { createDb } from '../lib/db.js';
import { createAccessTokenVerifier } from '../lib/jwt-verifier.js';
import { createLogger } from '../lib/logger.js';
import { serveApp } from '../lib/serve.js';
import { startTelemetry } from '../lib/telemetry.js';
import { createWalletApp } from './app.js';
import { grantServiceRole } from './database-roles.js';
import { loadWalletConfig } from './config.js';
import type { Database } from './database.js';
import { ensureMongoIndexesEventually } from './history/history.collections.js';
import { migrateWalletDb } from './migrations/migrate-wallet-db.js';
import { purgeIdempotencyKeys } from './idempotency/idempotency.service.js';
import { createEventPublisher } from './events/event-publisher.js';
import { purgeUnpublishedEventQueue } from './events/events.repository.js';
import { createJournalAnchorer } from './ledger/journal-anchors.js';
import { createJournalSealer } from './ledger/journal-sealer.js';
import { createOutboxRelay } from './outbox/outbox.relay.js';
import { purgeRelayedOutbox } from './outbox/outbox.repository.js';

/** The only wiring of WalletService: config, pools, migrations, indexes, relay, sealer, HTTP. */
async function main() {
  await startTelemetry('wallet');
  const config = loadWalletConfig();
  const log = createLogger('wallet', config.LOG_LEVEL);
  const { db } = createDb<Database>(config.WALLET_DATABASE_URL, {
    max: config.WALLET_DB_POOL_MAX,
    name: 'velora-wallet',
  });
  // Migrations and grants as the owner; everything else as the service role, which cannot
  // rewrite the journal (migration 0043, docs/security.md).
  const owner = createDb<Database>(config.WALLET_MIGRATION_DATABASE_URL ?? config.WALLET_DATABASE_URL, {
    max: 1,
    name: 'velora-wallet-owner',
  });
  try {
    await migrateWalletDb(owner.db);
    await grantServiceRole(owner.db, db, { log, production: process.env.NODE_ENV === 'production' });
  } finally {
    await owner.db.destroy();
  }

  // Money never waits for MongoDB: the driver connects on first use, the relay retries, and
  // indexes are created as soon as the server answers (readyz reports it meanwhile).
  const mongoClient = new MongoClient(config.MONGO_URL, { serverSelectionTimeoutMS: 5_000 });
  const mongo = mongoClient.db(config.WALLET_MONGO_DB);
  const indexes = new AbortController();
  void ensureMongoIndexesEventually(mongo, log, indexes.signal);

  const registry = new Registry();
  const relay = createOutboxRelay({
    db,
    mongo,
    log,
    registry,
    batchSize: config.WALLET_RELAY_BATCH_SIZE,
    maxAttempts: config.WALLET_RELAY_MAX_ATTEMPTS,
    leaseMs: config.WALLET_RELAY_LEASE_MS,
  });
  relay.start(config.WALLET_RELAY_INTERVAL_MS);
  const sealer = createJournalSealer({ db, log });
  sealer.start(config.WALLET_SEAL_INTERVAL_MS);
  // The chain head leaves PostgreSQL: a rewrite that recomputes every hash there still differs.
  const anchorer = createJournalAnchorer({ db, mongo, log });
  anchorer.start(config.WALLET_ANCHOR_INTERVAL_MS);
  // Domain events (docs/events.md): their own loop, so a broker outage never slows the relay.
  const events = config.RABBITMQ_URL
    ? createEventPublisher({
        db,
        url: config.RABBITMQ_URL,
        log,
        registry,
        batchSize: config.WALLET_EVENTS_BATCH_SIZE,
        leaseMs: config.WALLET_EVENTS_LEASE_MS,
      })
    : undefined;
  if (events) events.start(config.WALLET_EVENTS_INTERVAL_MS);
  else log.warn('RABBITMQ_URL is not set: no domain events are published');

  const verifier = createAccessTokenVerifier({
    jwksUrl: config.AUTH_JWKS_URL,
    issuer: config.AUTH_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
  const { app } = createWalletApp({
    db,
    mongo,
    verifier,
    log,
    registry,
    events,
    onCommitted: () => {
      relay.kick();
      sealer.kick();
      events?.kick();
    },
  });
  const purge = setInterval(() => {
    purgeIdempotencyKeys(db, config.WALLET_IDEMPOTENCY_RETENTION_DAYS)
      .then((n) => n > 0 && log.info({ purged: n }, 'forgot old idempotency keys'))
      .catch((err: unknown) => log.warn({ err }, 'idempotency key purge failed'));
    purgeRelayedOutbox(db, config.WALLET_OUTBOX_RETENTION_DAYS, new Date(), 1000, events !== undefined)
      .then((n) => n > 0 && log.info({ purged: n }, 'deleted relayed outbox rows past retention'))
      .catch((err: unknown) => log.warn({ err }, 'outbox purge failed'));
    // Events off: nobody drains the triggers' queue, so it keeps the same retention as the outbox.
    if (!events)
      purgeUnpublishedEventQueue(db, config.WALLET_OUTBOX_RETENTION_DAYS)
        .then((n) => n > 0 && log.info({ purged: n }, 'deleted unpublished queued events past retention'))
        .catch((err: unknown) => log.warn({ err }, 'event queue purge failed'));
  }, 3_600_000).unref();

  await serveApp({
    app,
    host: config.WALLET_HOST,
    port: config.WALLET_PORT,
    log,
    onClose: async () => {
      indexes.abort();
      clearInterval(purge);
      await relay.stop();
      await sealer.stop();
      await anchorer.stop();
      await events?.close();
      await mongoClient.close();
      await db.destroy();
    },
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
