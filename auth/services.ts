import type { Context, MiddlewareHandler } from 'hono';
import { Counter, type Registry } from 'prom-client';
import type { Kysely } from 'kysely';
import type { Principal } from '../lib/jwt-verifier.js';
import type { Logger } from '../lib/logger.js';
import { createAuditLog, type AuditLog, type RequestContext } from './audit/audit.service.js';
import type { AuthConfig } from './config.js';
import type { Database } from './database.js';
import { idempotency, type IdempotencyOptions } from './http/idempotency.js';
import { createRequestContext } from './http/request-context.js';
import { createKeyEncryption } from './keys/key-encryption.js';
import { createKeyStore, type KeyStore } from './keys/keys.service.js';
import { createAuthorizationCodeStore, type AuthorizationCodeStore } from './oauth/authorization-codes.js';
import { createClientService, type ClientService } from './oauth/clients.service.js';
import { createDevNotifier, createLogNotifier, type Notifier, type OutboxItem } from './otp/notifier.js';
import { createOtpService, type OtpService } from './otp/otp.service.js';
import { createSmtpNotifier } from './otp/smtp-notifier.js';
import { createPasswordService, type PasswordService } from './password/password.service.js';
import type { RedisClient } from './redis.js';
import { createTokenService, type TokenService } from './tokens/tokens.service.js';
import {
  createEmailVerificationService,
  type EmailVerificationService,
} from './users/email-verification.service.js';
import { createLoginThrottle, type LoginThrottle } from './users/login-throttle.js';
import { createLoginService, type LoginService } from './users/login.service.js';
import { createRegistrationService, type RegistrationService } from './users/registration.service.js';
import { createUserService, type UserService } from './users/users.service.js';

export interface AuthDeps {
  config: AuthConfig;
  db: Kysely<Database>;
  redis: RedisClient;
  log: Logger;
  /** Replaces the notifier chosen by OTP_DELIVERY (tests that need a failing channel). */
  notifier?: Notifier;
  /** Metrics registry of the HTTP app; authentication events are counted there. */
  registry?: Registry;
}

/**
 * Every AuthService component, built once from its dependencies (not the dependencies
 * themselves). Each route factory takes the few it uses (`Pick<AuthServices, …>`).
 */
export interface AuthServices {
  /** The `iss` of every token and of the discovery document (AUTH_ISSUER). */
  issuer: string;
  /** The `aud` of access tokens (JWT_AUDIENCE). */
  audience: string;
  /** The `Idempotency-Key` check of an internal mutating route, bound to the Redis keeping the answers. */
  idempotency: (options?: IdempotencyOptions) => MiddlewareHandler<{ Variables: { principal: Principal } }>;
  audit: AuditLog;
  keys: KeyStore;
  tokens: TokenService;
  otp: OtpService;
  registrations: RegistrationService;
  users: UserService;
  login: LoginService;
  emailVerification: EmailVerificationService;
  passwords: PasswordService;
  clients: ClientService;
  authorizationCodes: AuthorizationCodeStore;
  throttle: LoginThrottle;
  notifier: Notifier;
  /** Present only with OTP_DELIVERY=dev. */
  devOutbox: ((recipient: string) => Promise<OutboxItem[]>) | undefined;
  requestContext: (c: Context) => RequestContext;
}

export function createAuthServices(deps: AuthDeps): AuthServices {
  const { config, db, redis, log } = deps;
  const events = deps.registry
    ? new Counter({
        name: 'auth_events_total',
        help: 'Authentication events (login, lockout, otp, refresh, reuse, ...) by outcome',
        labelNames: ['event', 'outcome'],
        registers: [deps.registry],
      })
    : undefined;
  const audit = createAuditLog({
    db,
    log,
    onEvent: (e) => events?.inc({ event: e.event, outcome: e.outcome }),
  });
  const keys = createKeyStore({
    db,
    encryption: createKeyEncryption(config.AUTH_KEY_ENCRYPTION_KEY),
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    activationDelaySeconds: config.AUTH_KEY_ACTIVATION_DELAY_SECONDS,
  });
  const tokens = createTokenService({
    db,
    redis,
    keys,
    audit,
    issuer: config.AUTH_ISSUER,
    audience: config.JWT_AUDIENCE,
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
  });
  const dev = config.OTP_DELIVERY === 'dev' ? createDevNotifier(redis) : undefined;
  const notifier =
    deps.notifier ??
    dev ??
    (config.OTP_DELIVERY === 'smtp' ? createSmtpNotifier(config, log) : createLogNotifier(log));
  const otp = createOtpService({ redis, pepper: config.OTP_PEPPER, notifier, audit });
  const throttle = createLoginThrottle(redis, {
    maxConsecutiveFailures: config.AUTH_LOGIN_MAX_CONSECUTIVE_FAILURES,
    lockSeconds: config.AUTH_LOGIN_LOCK_SECONDS,
    maxFailuresPerIpPerDay: config.AUTH_LOGIN_MAX_FAILURES_PER_IP_DAY,
  });
  const users = createUserService({
    db,
    tokens,
    audit,
    limits: {
      unverified: {
        perTransfer: config.TRANSFER_LIMIT_UNVERIFIED_PER_TRANSFER,
        daily: config.TRANSFER_LIMIT_UNVERIFIED_DAILY,
      },
      verified: {
        perTransfer: config.TRANSFER_LIMIT_VERIFIED_PER_TRANSFER,
        daily: config.TRANSFER_LIMIT_VERIFIED_DAILY,
      },
    },
  });
  const registrations = createRegistrationService({ db, redis, notifier, audit });
  const login = createLoginService({ db, otp, throttle, notifier, audit });
  const emailVerification = createEmailVerificationService({ db, redis, otp, audit });
  const passwords = createPasswordService({ db, redis, otp, tokens, throttle, notifier, audit });
  const clients = createClientService({ db, redis, audit });
  const authorizationCodes = createAuthorizationCodeStore(redis);
  return {
    issuer: config.AUTH_ISSUER,
    audience: config.JWT_AUDIENCE,
    idempotency: (options) => idempotency(redis, options),
    audit,
    keys,
    tokens,
    otp,
    registrations,
    users,
    login,
    emailVerification,
    passwords,
    clients,
    authorizationCodes,
    throttle,
    notifier,
    devOutbox: dev ? (recipient) => dev.outbox(recipient) : undefined,
    requestContext: createRequestContext(config.AUTH_TRUSTED_PROXIES),
  };
}
