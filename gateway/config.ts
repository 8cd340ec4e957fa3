import { z } from 'zod';
import { env, parseConfig, secret } from '../lib/config.js';
import { payloadCodecEnv } from '../lib/payload-codec.js';
import { temporalTlsEnv } from '../lib/temporal-tls.js';
import { MIN_WORKFLOW_INPUT_KEY_BYTES } from '../lib/workflow-input-signature.js';
import { TASK_QUEUE } from '../temporal-config/index.js';

/** Everything the gateway reads from the environment (names match `.env.example`). */
export const gatewayConfigSchema = z.object({
  LOG_LEVEL: env.logLevel(),
  GATEWAY_HOST: env.string('127.0.0.1'),
  GATEWAY_PORT: env.port(8080),
  /**
   * The private listener of `/metrics` (never on the public port). Loopback by default; a
   * deployment whose scraper runs elsewhere binds its internal interface. The port defaults to
   * GATEWAY_PORT + 100, so the dev and test stacks do not collide.
   */
  GATEWAY_METRICS_HOST: env.string('127.0.0.1'),
  GATEWAY_METRICS_PORT: env.optional(z.coerce.number().int().min(1).max(65535)),
  REDIS_URL: env.url('redis://127.0.0.1:6379/0'),
  JWT_AUDIENCE: env.string('velora'),
  AUTH_ISSUER: env.url('http://127.0.0.1:8081'),
  AUTH_JWKS_URL: env.url('http://127.0.0.1:8081/.well-known/jwks.json'),
  /** Only this signature algorithm is accepted on access tokens. */
  JWT_ALGORITHM: z.enum(['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']).default('ES256'),
  AUTH_URL: env.url('http://127.0.0.1:8081'),
  WALLET_URL: env.url('http://127.0.0.1:8082'),
  TEMPORAL_ADDRESS: env.string('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: env.string('default'),
  /** Mutual TLS to Temporal and the payload codec (lib/temporal-tls.ts, lib/payload-codec.ts). */
  ...temporalTlsEnv,
  ...payloadCodecEnv,
  /** Where workflows are started; only tests point it elsewhere (their own stub worker). */
  TEMPORAL_TASK_QUEUE: env.string(TASK_QUEUE),
  GATEWAY_CLIENT_ID: env.string('velora-gateway'),
  GATEWAY_CLIENT_SECRET: env.secret(16),
  /** Scopes the gateway asks for with its own client_credentials. */
  GATEWAY_CLIENT_SCOPE: env.string('auth:internal wallet:read wallet:admin'),
  TRUSTED_PROXIES: env.list(''),
  CORS_ORIGINS: env.list(''),
  /** Per-attempt timeout of every upstream HTTP call. */
  UPSTREAM_TIMEOUT_MS: env.int(3000),
  /** Consecutive upstream failures that open a circuit, and how long it stays open. */
  CIRCUIT_BREAK_AFTER: env.int(5),
  CIRCUIT_HALF_OPEN_AFTER_MS: env.int(10_000),
  /** Requests per minute per client IP (all routes), per IP on auth routes, per user. */
  RATE_LIMIT_IP_PER_MINUTE: env.int(600),
  RATE_LIMIT_AUTH_PER_MINUTE: env.int(20),
  RATE_LIMIT_USER_PER_MINUTE: env.int(300),
  /** Bound on each Temporal RPC (start, describe, list), so an outage is a fast 503. */
  TEMPORAL_RPC_TIMEOUT_MS: env.int(5000),
  /** How long register / deposit wait for their workflow before answering. */
  WORKFLOW_WAIT_MS: env.int(20_000),
  /**
   * HMAC key of the payout provider's webhook signature (`POST /v1/webhooks/payouts`); unset, the
   * webhook answers 503. payout-sim signs with the same variable.
   */
  PAYOUT_WEBHOOK_SECRET: env.optional(
    secret(z.string().min(32, 'must be at least 32 characters'), { requiredInProduction: false }),
  ),
  /**
   * A withdrawal's wait for the payout provider's result before it releases the funds, and how
   * long after that release a late settlement is still watched for. Both go into the signed
   * workflow input; the test stack shortens them so its e2e reaches both branches in seconds.
   */
  WITHDRAWAL_PAYOUT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(30 * 60 * 1000),
  WITHDRAWAL_LATE_RESULT_WINDOW_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(24 * 60 * 60 * 1000),
  /** Base64 key (≥ 32 bytes) that signs transfer and deposit workflow inputs; the workers hold it too. */
  WORKFLOW_INPUT_KEY: env
    .secret(44)
    .refine(
      (v) => Buffer.from(v, 'base64').length >= MIN_WORKFLOW_INPUT_KEY_BYTES,
      `must be base64 of at least ${MIN_WORKFLOW_INPUT_KEY_BYTES} bytes`,
    ),
});

/** The default metrics port is GATEWAY_PORT plus this. */
const METRICS_PORT_OFFSET = 100;

/** Where the private `/metrics` listener binds. */
export function metricsListener(config: GatewayConfig): { host: string; port: number } {
  return {
    host: config.GATEWAY_METRICS_HOST,
    port: config.GATEWAY_METRICS_PORT ?? config.GATEWAY_PORT + METRICS_PORT_OFFSET,
  };
}

export type GatewayConfig = Readonly<z.infer<typeof gatewayConfigSchema>>;

/** Parses and freezes the gateway configuration; throws naming every bad variable. */
export function loadGatewayConfig(source: Record<string, string | undefined> = process.env): GatewayConfig {
  return parseConfig('gateway', gatewayConfigSchema, source);
}
