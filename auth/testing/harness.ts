import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createClient } from 'redis';
import { createDb, migrateToLatest } from '../../lib/db.js';
import type { Logger } from '../../lib/logger.js';
import { testEnv } from '../../test/support/test-env.js';
import { createAuthApp } from '../app.js';
import { loadAuthConfig, type AuthConfig } from '../config.js';
import type { Database } from '../database.js';
import { authMigrations } from '../migrations/index.js';
import type { Notifier } from '../otp/notifier.js';
import { seedFromConfig } from '../seed.js';
import { FIRST_PARTY_CLIENT_ID } from '../tokens/scopes.js';
import { hashPassword } from '../users/password-hasher.js';
import { insertUserIfAbsent, setMfaEnabled } from '../users/users.repository.js';
import type { User } from '../users/users.table.js';

// Response bodies in tests are read field by field; each assertion checks the shape it reads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type TestBody = Record<string, any>;

export const TEST_ISSUER = 'http://auth.test';
/** One key-encryption key for every test file: they share the signing-key table. */
export const TEST_KEY_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');
export const ORCHESTRATOR = { id: 'test-orchestrator', secret: 'test-orchestrator-secret-0123456789' };
export const GATEWAY = { id: 'test-gateway', secret: 'test-gateway-secret-0123456789abc' };

/** A fresh email per call: test files share one database and run in parallel. */
export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomUUID().slice(0, 8)}@example.test`;
}

/** A random client address, so per-IP counters of one test never touch another's. */
export function randomIp(): string {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

/** A strong password that is not in the common list. */
export function strongPassword(): string {
  return `Velora-${randomBytes(9).toString('base64url')}`;
}

export function testConfig(overrides: Record<string, string> = {}): AuthConfig {
  return loadAuthConfig({
    AUTH_DATABASE_URL: testEnv('authDatabaseUrl'),
    REDIS_URL: testEnv('redisUrl'),
    AUTH_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: 'velora',
    AUTH_KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY,
    OTP_PEPPER: 'test-otp-pepper-0123456789abcdef-0123456789',
    OTP_DELIVERY: 'dev',
    ORCHESTRATOR_CLIENT_ID: ORCHESTRATOR.id,
    ORCHESTRATOR_CLIENT_SECRET: ORCHESTRATOR.secret,
    GATEWAY_CLIENT_ID: GATEWAY.id,
    GATEWAY_CLIENT_SECRET: GATEWAY.secret,
    LOG_LEVEL: 'silent',
    // Tests that rotate want the new key at once; keys.test.ts covers the delayed activation.
    AUTH_KEY_ACTIVATION_DELAY_SECONDS: '0',
    ...overrides,
  });
}

/** A logger whose lines are kept in memory (to prove what never reaches the logs). */
export function memoryLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

/** Starts AuthService in-process (`app.request()`) against the test PostgreSQL and Redis. */
export async function createHarness(
  options: { overrides?: Record<string, string>; log?: Logger; notifier?: Notifier } = {},
) {
  const config = testConfig(options.overrides);
  const log = options.log ?? pino({ level: 'silent' });
  const { db } = createDb<Database>(config.AUTH_DATABASE_URL, { name: 'velora-auth-test', max: 5 });
  await migrateToLatest(db, authMigrations);
  const redis = createClient({ url: config.REDIS_URL });
  await redis.connect();
  const { app, services } = createAuthApp({
    config,
    db,
    redis,
    log,
    ...(options.notifier ? { notifier: options.notifier } : {}),
  });
  await services.keys.ensureActiveKey();
  await seedFromConfig(db, config, log);
  const ip = randomIp();

  async function json(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await app.request(path, {
      method,
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip, ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: (text ? JSON.parse(text) : undefined) as TestBody,
    };
  }

  async function form(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    const res = await app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip, ...headers },
      body: new URLSearchParams(fields).toString(),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: (text ? JSON.parse(text) : undefined) as TestBody,
    };
  }

  function basic(id: string, secret: string) {
    return {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    };
  }

  async function serviceToken(client = ORCHESTRATOR, scope?: string): Promise<string> {
    const res = await form(
      '/v1/auth/token',
      { grant_type: 'client_credentials', ...(scope ? { scope } : {}) },
      basic(client.id, client.secret),
    );
    if (res.status !== 200) throw new Error(`client_credentials failed: ${JSON.stringify(res.body)}`);
    return res.body.access_token as string;
  }

  /** Creates an active user directly (no onboarding) and returns it with its password. */
  async function createUser(
    input: {
      email?: string;
      password?: string;
      mfa?: boolean;
      roles?: User['roles'];
      verified?: boolean;
    } = {},
  ) {
    const email = input.email ?? uniqueEmail();
    const password = input.password ?? strongPassword();
    const user = await insertUserIfAbsent(db, {
      email,
      phone: null,
      password_hash: await hashPassword(password),
      roles: input.roles ?? ['user'],
      status: 'active',
      email_verified_at: input.verified ? new Date() : null,
      disabled_reason: null,
    });
    if (!user) throw new Error('email taken');
    if (input.mfa) await setMfaEnabled(db, user.id, true);
    return { ...user, password };
  }

  async function login(email: string, password: string, headers: Record<string, string> = {}) {
    return json('POST', '/v1/auth/login', { email, password }, headers);
  }

  /** Newest code the dev notifier holds for `recipient` and `purpose`. */
  async function latestCode(recipient: string, purpose: string): Promise<string> {
    const items = (await services.devOutbox?.(recipient)) ?? [];
    const item = items.find((i) => i.purpose === purpose);
    if (!item?.code) throw new Error(`no ${purpose} code for ${recipient}`);
    return item.code;
  }

  async function close() {
    await redis.close();
    await db.destroy();
  }

  return {
    app,
    services,
    config,
    db,
    redis,
    ip,
    json,
    form,
    basic,
    serviceToken,
    createUser,
    login,
    latestCode,
    close,
    firstPartyClient: FIRST_PARTY_CLIENT_ID,
  };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;
