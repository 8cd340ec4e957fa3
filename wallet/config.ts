import { z } from 'zod';
import { env, parseConfig, requiredInProduction } from '../lib/config.js';

export const walletConfigSchema = z.object({
  LOG_LEVEL: env.logLevel(),
  WALLET_HOST: env.string('127.0.0.1'),
  WALLET_PORT: env.port(8082),
  /**
   * The role WalletService serves as: SELECT/INSERT on the journal, never UPDATE, DELETE or
   * TRUNCATE (migration 0043; the stack, Compose and Kubernetes give `velora_wallet_service`).
   */
  WALLET_DATABASE_URL: requiredInProduction(env.url('postgres://velora_wallet@127.0.0.1:5432/velora_wallet')),
  /**
   * The owner of the tables: runs the migrations and grants the service role its rights, at start.
   * Unset: WALLET_DATABASE_URL does both, which production refuses (that role could rewrite history).
   */
  WALLET_MIGRATION_DATABASE_URL: env.optional(requiredInProduction(z.url())),
  MONGO_URL: requiredInProduction(env.string('mongodb://127.0.0.1:27017/')),
  WALLET_MONGO_DB: env.string('velora_wallet'),
  AUTH_ISSUER: env.url('http://127.0.0.1:8081'),
  AUTH_JWKS_URL: env.url('http://127.0.0.1:8081/.well-known/jwks.json'),
  JWT_AUDIENCE: env.string('velora'),
  /** How often the outbox relay polls (it is also woken after every commit). */
  WALLET_RELAY_INTERVAL_MS: env.int(500).pipe(z.number().min(10).max(60_000)),
  /** Outbox rows per relay batch (one claim, one unordered MongoDB insert per collection, one outcome). */
  WALLET_RELAY_BATCH_SIZE: env.int(200).pipe(z.number().min(1).max(5000)),
  /** A document MongoDB refused this many times moves to `outbox_dead_letters` (docs/runbook.md). */
  WALLET_RELAY_MAX_ATTEMPTS: env.int(5).pipe(z.number().min(1).max(100)),
  /** How long a claimed outbox batch is the relay's before another service copy may take it. */
  WALLET_RELAY_LEASE_MS: env.int(60_000).pipe(z.number().min(500).max(3_600_000)),
  /** Relayed outbox rows older than this are deleted (checked hourly; MongoDB keeps the documents). */
  WALLET_OUTBOX_RETENTION_DAYS: env.int(7).pipe(z.number().min(1).max(3650)),
  /** How often the journal sealer chains committed transactions (it is also woken after every commit). */
  WALLET_SEAL_INTERVAL_MS: env.int(200).pipe(z.number().min(10).max(60_000)),
  /** How often the chain head is anchored in MongoDB (`journal_anchors`; reconciliation compares). */
  WALLET_ANCHOR_INTERVAL_MS: env.int(60_000).pipe(z.number().min(1000).max(3_600_000)),
  /** Idempotency keys older than this are forgotten (checked hourly). */
  WALLET_IDEMPOTENCY_RETENTION_DAYS: env.int(30).pipe(z.number().min(1).max(3650)),
  WALLET_DB_POOL_MAX: env.int(10).pipe(z.number().min(1).max(200)),
  /**
   * RabbitMQ for domain events (`amqp[s]://user:password@host:port/vhost`, docs/events.md). Unset:
   * no events are published, and the outbox's retention no longer waits for them.
   */
  RABBITMQ_URL: env.optional(z.string().regex(/^amqps?:\/\//, 'must be an amqp:// or amqps:// URL')),
  /** How often the event publisher polls (it is also woken after every commit). */
  WALLET_EVENTS_INTERVAL_MS: env.int(500).pipe(z.number().min(10).max(60_000)),
  /** Outbox rows per event batch (one claim, one wait for the broker's confirms, one mark). */
  WALLET_EVENTS_BATCH_SIZE: env.int(200).pipe(z.number().min(1).max(5000)),
  /** How long a claimed event batch is the publisher's before another service copy may take it. */
  WALLET_EVENTS_LEASE_MS: env.int(60_000).pipe(z.number().min(500).max(3_600_000)),
});

export type WalletConfig = Readonly<z.infer<typeof walletConfigSchema>>;

/** Reads WalletService's configuration once; fails at start naming every bad variable. */
export function loadWalletConfig(source: Record<string, string | undefined> = process.env): WalletConfig {
  return parseConfig('wallet', walletConfigSchema, source);
}
