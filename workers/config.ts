/** Configuration of an orchestrator worker, parsed once from the environment. */
import { z } from 'zod';
import { env, parseConfig, secret } from '../lib/config.js';
import { payloadCodecEnv } from '../lib/payload-codec.js';
import { temporalTlsEnv } from '../lib/temporal-tls.js';
import { MIN_WORKFLOW_INPUT_KEY_BYTES } from '../lib/workflow-input-signature.js';
import { DEFAULT_NAMESPACE, TASK_QUEUE } from '../temporal-config/index.js';
import { codecServerEnv } from './codec-server.js';

export const workerConfigSchema = z.object({
  LOG_LEVEL: env.logLevel(),
  TEMPORAL_ADDRESS: env.string('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: env.string(DEFAULT_NAMESPACE),
  /** Mutual TLS to Temporal, the payload codec and its server (lib/temporal-tls.ts, lib/payload-codec.ts). */
  ...temporalTlsEnv,
  ...payloadCodecEnv,
  ...codecServerEnv,
  /** Override only to isolate a worker pool (tests); production workers share one queue. */
  TEMPORAL_TASK_QUEUE: env.string(TASK_QUEUE),
  AUTH_URL: env.url('http://127.0.0.1:8081'),
  WALLET_URL: env.url('http://127.0.0.1:8082'),
  /** The payout provider withdrawals are paid through (payout-sim locally) and its API key. */
  PAYOUT_PROVIDER_URL: env.url('http://127.0.0.1:8085'),
  PAYOUT_PROVIDER_API_KEY: env.optional(
    secret(z.string().min(16, 'must be at least 16 characters'), { requiredInProduction: false }),
  ),
  ORCHESTRATOR_CLIENT_ID: env.string('velora-orchestrator'),
  ORCHESTRATOR_CLIENT_SECRET: env.secret(16),
  /**
   * Base64 key (≥ 32 bytes) the gateway signs transfer and deposit inputs with: the reserve and
   * deposit activities refuse an input whose signature does not verify under it.
   */
  WORKFLOW_INPUT_KEY: env
    .secret(44)
    .refine(
      (v) => Buffer.from(v, 'base64').length >= MIN_WORKFLOW_INPUT_KEY_BYTES,
      `must be base64 of at least ${MIN_WORKFLOW_INPUT_KEY_BYTES} bytes`,
    ),
  WORKER_HEALTH_HOST: env.string('127.0.0.1'),
  WORKER_HEALTH_PORT: env.port(8083),
  TRANSFER_STEP_UP_THRESHOLD: z
    .string()
    .regex(/^[0-9]{1,19}$/, 'must be a whole number of minor units')
    .default('100000')
    .transform((v) => BigInt(v)),
  /**
   * How long the reserve step reuses AuthService's answer for an active user (status and
   * limits; activities/active-user-cache.ts): a disabled user's tokens are denylisted at once,
   * this bounds how late a transfer accepted just before is refused, and how late limits an
   * operator lowered apply to a user who was just asked about. 0 asks every time.
   */
  ACTIVE_USER_CACHE_MS: env.int(5000),
  /** Create or update the hold-expiry schedule at start (every worker may; it is idempotent). */
  HOLD_EXPIRY_SCHEDULE: env.bool(true),
  /** Create or update the transfer-archive schedule at start (idempotent like the one above). */
  TRANSFER_ARCHIVE_SCHEDULE: env.bool(true),
  /** How long SIGTERM waits for running activities before cancelling them. */
  WORKER_SHUTDOWN_GRACE_MS: env.int(8000),
});

export type WorkerConfig = Readonly<z.infer<typeof workerConfigSchema>>;

export function loadWorkerConfig(source: Record<string, string | undefined> = process.env): WorkerConfig {
  return parseConfig('orchestrator-worker', workerConfigSchema, source);
}
