import { z } from 'zod';
import { env, parseConfig, requiredInProduction, secret } from '../lib/config.js';
import { parseTrustedProxies } from './http/trusted-proxies.js';

const base64Key32 = z
  .string()
  .min(1)
  // Kept as text: parseConfig freezes the config and a Buffer cannot be frozen. Decoded where used.
  .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be the base64 encoding of exactly 32 bytes');

const minorUnits = (fallback: string) =>
  z
    .string()
    .regex(/^[0-9]{1,19}$/, 'must be an integer number of minor units')
    .default(fallback)
    .transform((v) => BigInt(v));

/** Every variable AuthService reads (see .env.example), validated once at start. */
export const authConfigSchema = z.object({
  LOG_LEVEL: env.logLevel(),
  AUTH_HOST: env.string('127.0.0.1'),
  AUTH_PORT: env.port(8081),
  AUTH_DATABASE_URL: env.url(),
  REDIS_URL: env.url(),
  AUTH_ISSUER: env.url('http://127.0.0.1:8081').transform((v) => v.replace(/\/+$/, '')),
  JWT_AUDIENCE: env.string('velora'),
  AUTH_KEY_ENCRYPTION_KEY: secret(base64Key32),
  OTP_PEPPER: env.secret(32),
  /**
   * How codes and notices reach a person: `smtp` (email, production), `log` (a stub that logs
   * metadata only), `dev` (kept for GET /dev/outbox; local only). Production must say smtp.
   */
  OTP_DELIVERY: requiredInProduction(z.enum(['dev', 'log', 'smtp'])).default('log'),
  /** The mail relay of OTP_DELIVERY=smtp (the local stack's is Mailpit). */
  SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  SMTP_PORT: env.port(587),
  /** `starttls` (upgrade required), `implicit` (TLS from the first byte, port 465), `none` (local catcher only). */
  SMTP_TLS: z.enum(['starttls', 'implicit', 'none']).default('starttls'),
  SMTP_USER: env.optional(z.string().min(1)),
  SMTP_PASSWORD: env.optional(secret(z.string().min(1), { requiredInProduction: false })),
  /** The From of every message, e.g. `Velora <no-reply@example.com>`. */
  SMTP_FROM: z.string().min(3).default('Velora <no-reply@velora.local>'),
  /** PEM of the CA that signed the relay's certificate, when it is not a public one. */
  SMTP_TLS_CA_PATH: env.optional(z.string().min(1)),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(900).default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(90 * 86_400)
    .default(1_209_600),
  VELORA_ADMIN_EMAIL: z.email().optional(),
  VELORA_ADMIN_PASSWORD: secret(z.string().min(8).max(128), { requiredInProduction: false }).optional(),
  ORCHESTRATOR_CLIENT_ID: z.string().min(1).optional(),
  ORCHESTRATOR_CLIENT_SECRET: env.secret(16).optional(),
  GATEWAY_CLIENT_ID: z.string().min(1).optional(),
  GATEWAY_CLIENT_SECRET: env.secret(16).optional(),
  TRANSFER_LIMIT_UNVERIFIED_PER_TRANSFER: minorUnits('500000'),
  TRANSFER_LIMIT_UNVERIFIED_DAILY: minorUnits('2000000'),
  TRANSFER_LIMIT_VERIFIED_PER_TRANSFER: minorUnits('5000000'),
  TRANSFER_LIMIT_VERIFIED_DAILY: minorUnits('20000000'),
  /**
   * Peers whose X-Forwarded-For is believed (the gateway): addresses or CIDR ranges. Loopback by
   * default: on the local stack the gateway is a local process.
   */
  AUTH_TRUSTED_PROXIES: env
    .list('127.0.0.1,::1')
    .refine((v) => parseTrustedProxies(v).invalid.length === 0, 'must be IP addresses or CIDR ranges'),
  /** A rotated-in signing key is published this long before it signs (> the verifiers' JWKS refetch cooldown of 10 s). */
  AUTH_KEY_ACTIVATION_DELAY_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  /** Consecutive failures per IP+account before the lock, and how long the lock lasts. */
  AUTH_LOGIN_MAX_CONSECUTIVE_FAILURES: env.int(10),
  AUTH_LOGIN_LOCK_SECONDS: z.coerce.number().int().min(1800).default(1800),
  /** Failed logins one IP may make per day, whatever the accounts. */
  AUTH_LOGIN_MAX_FAILURES_PER_IP_DAY: env.int(100),
});

export type AuthConfig = Readonly<z.infer<typeof authConfigSchema>>;

/** Parses AuthService's configuration from `source` (the process environment by default). */
export function loadAuthConfig(source: Record<string, string | undefined> = process.env): AuthConfig {
  return parseConfig('auth', authConfigSchema, source);
}
