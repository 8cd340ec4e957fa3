import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { SignJWT, createLocalJWKSet, exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier } from '../../lib/jwt-verifier.js';
import { listAuthEvents } from '../audit/audit.repository.js';
import { createHarness, TEST_ISSUER, TEST_KEY_ENCRYPTION_KEY, type Harness } from '../testing/harness.js';
import { createKeyEncryption } from './key-encryption.js';
import { KEY_CACHE_SECONDS } from './keys.service.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const kidOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

/** Verifies like the gateway does: lib's verifier over the published JWKS. */
async function gatewayAccepts(token: string): Promise<boolean> {
  const res = await h.app.request('/.well-known/jwks.json');
  const verify = createAccessTokenVerifier({
    jwks: createLocalJWKSet((await res.json()) as { keys: [] }),
    issuer: TEST_ISSUER,
    audience: 'velora',
  });
  return verify(token).then(
    () => true,
    () => false,
  );
}

describe('signing keys at rest', () => {
  it('stores private keys only encrypted (AES-256-GCM bound to the kid)', async () => {
    const { kid } = await h.services.keys.signingKey();
    const row = await h.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('kid', '=', kid)
      .executeTakeFirstOrThrow();
    expect(row.private_key_encrypted).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(row.public_jwk)).not.toContain('"d"');
    const right = createKeyEncryption(TEST_KEY_ENCRYPTION_KEY);
    expect(right.decrypt(row.private_key_encrypted, kid)).toContain('BEGIN PRIVATE KEY');
    const wrong = createKeyEncryption(randomBytes(32).toString('base64'));
    expect(() => wrong.decrypt(row.private_key_encrypted, kid)).toThrow();
    // A ciphertext moved to another row (other kid) does not decrypt either.
    expect(() => right.decrypt(row.private_key_encrypted, 'another-kid')).toThrow();
  });

  it('publishes only public parameters in the JWKS', async () => {
    const res = await h.app.request('/.well-known/jwks.json');
    const body = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(body.keys.length).toBeGreaterThan(0);
    for (const key of body.keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key).not.toHaveProperty('d');
    }
  });
});

describe('rotation', () => {
  it('keeps tokens in flight valid: the old key stays published, new tokens use the new key', async () => {
    const before = await h.serviceToken();
    const oldKid = kidOf(before);
    const admin = await h.createUser({ roles: ['user', 'admin'] });
    const session = await h.login(admin.email, admin.password);
    const rotated = await h.json('POST', '/v1/auth/keys/rotate', undefined, {
      authorization: `Bearer ${session.body.access_token}`,
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.kid).not.toBe(oldKid);

    const after = await h.serviceToken();
    expect(kidOf(after)).toBe(rotated.body.kid);
    const jwks = (await (await h.app.request('/.well-known/jwks.json')).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, rotated.body.kid]));
    // The token signed before the rotation still works, at AuthService and at a JWKS verifier.
    expect(await gatewayAccepts(before)).toBe(true);
    expect(await gatewayAccepts(after)).toBe(true);
    const internal = await h.json('GET', `/internal/users/${admin.id}`, undefined, {
      authorization: `Bearer ${before}`,
    });
    expect(internal.status).toBe(200);
    // A just-retired key is not removed: its tokens have not expired.
    expect(await h.services.keys.removeExpiredKeys()).not.toContain(oldKid);
    expect(await listAuthEvents(h.db, { subject: admin.id, event: 'key_rotation' })).toHaveLength(1);
  });

  it('removes a retired key once every token it signed has expired; its tokens then fail', async () => {
    // A retired key of our own making, so no other test's tokens depend on it.
    const kid = `test-${randomBytes(8).toString('hex')}`;
    const pair = await generateKeyPair('ES256', { extractable: true });
    const encryption = createKeyEncryption(TEST_KEY_ENCRYPTION_KEY);
    await h.db
      .insertInto('signing_keys')
      .values({
        kid,
        alg: 'ES256',
        public_jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' },
        private_key_encrypted: encryption.encrypt(await exportPKCS8(pair.privateKey), kid),
        status: 'retired',
        retired_at: new Date(),
      })
      .execute();
    h.services.keys.invalidate();
    const token = await new SignJWT({ scope: 'auth:internal', roles: [], client_id: 'test-orchestrator' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
      .setIssuer(TEST_ISSUER)
      .setAudience('velora')
      .setSubject('client:test-orchestrator')
      .setJti(randomBytes(8).toString('hex'))
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(pair.privateKey);
    expect(await gatewayAccepts(token)).toBe(true);
    expect(await h.services.keys.removeExpiredKeys()).not.toContain(kid);

    const longAgo = new Date(
      Date.now() - (h.config.ACCESS_TOKEN_TTL_SECONDS + KEY_CACHE_SECONDS + 120) * 1000,
    );
    await h.db.updateTable('signing_keys').set({ retired_at: longAgo }).where('kid', '=', kid).execute();
    expect(await h.services.keys.removeExpiredKeys()).toContain(kid);
    expect(await gatewayAccepts(token)).toBe(false);
    const internal = await h.json('GET', '/internal/users/00000000-0000-0000-0000-000000000000', undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(internal.status).toBe(401);
  });

  it('refuses the operator endpoint to users without the operator or admin role', async () => {
    const user = await h.createUser();
    const session = await h.login(user.email, user.password);
    const res = await h.json('POST', '/v1/auth/keys/rotate', undefined, {
      authorization: `Bearer ${session.body.access_token}`,
    });
    expect(res.status).toBe(403);
  });

  it('the rotate-keys command makes a new key active (no activation delay configured)', async () => {
    const before = (await h.services.keys.signingKey()).kid;
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'auth/keys/rotate-keys.command.ts'], {
      env: {
        PATH: process.env.PATH,
        AUTH_DATABASE_URL: h.config.AUTH_DATABASE_URL,
        REDIS_URL: h.config.REDIS_URL,
        AUTH_KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY,
        OTP_PEPPER: 'test-otp-pepper-0123456789abcdef-0123456789',
        LOG_LEVEL: 'silent',
        AUTH_KEY_ACTIVATION_DELAY_SECONDS: '0',
      },
      timeout: 30_000,
    });
    h.services.keys.invalidate();
    const after = (await h.services.keys.signingKey()).kid;
    expect(after).not.toBe(before);
    const row = await h.db
      .selectFrom('signing_keys')
      .select(['status', 'retired_at'])
      .where('kid', '=', before)
      .executeTakeFirst();
    expect(row?.status).toBe('retired');
  });
});

describe('delayed activation', () => {
  it('publishes the next key before it signs, then it takes over and the old one is retired', async () => {
    const delayed = await createHarness({ overrides: { AUTH_KEY_ACTIVATION_DELAY_SECONDS: '60' } });
    try {
      const signing = (await delayed.services.keys.signingKey()).kid;
      const { kid, activatesAt, retiredKid } = await delayed.services.keys.rotate();
      expect(activatesAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
      expect(retiredKid).toBe(signing);
      // Published at once...
      const jwks = (await (await delayed.app.request('/.well-known/jwks.json')).json()) as {
        keys: { kid: string }[];
      };
      expect(jwks.keys.map((k) => k.kid)).toContain(kid);
      // ...but not yet signing.
      expect(kidOf(await delayed.serviceToken())).toBe(signing);
      // Time passes (the activation moment is moved instead of waiting a minute).
      await delayed.db
        .updateTable('signing_keys')
        .set({ activate_after: new Date(Date.now() - 1000) })
        .where('kid', '=', kid)
        .execute();
      delayed.services.keys.invalidate();
      expect(kidOf(await delayed.serviceToken())).toBe(kid);
      const old = await delayed.db
        .selectFrom('signing_keys')
        .select(['status', 'retired_at'])
        .where('kid', '=', signing)
        .executeTakeFirstOrThrow();
      expect(old.status).toBe('retired');
      expect(old.retired_at).not.toBeNull();
    } finally {
      await delayed.close();
    }
  });
});
