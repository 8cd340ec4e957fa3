import { createHmac, randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWTHeaderParameters } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuthEvents } from '../audit/audit.repository.js';
import { createHarness, TEST_ISSUER, type Harness } from '../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function claims(overrides: Record<string, unknown> = {}) {
  return {
    iss: TEST_ISSUER,
    aud: 'velora',
    sub: 'client:test-orchestrator',
    client_id: 'test-orchestrator',
    scope: 'auth:internal',
    roles: [],
    jti: randomUUID(),
    iat: now(),
    exp: now() + 300,
    ...overrides,
  };
}

/** Signs with the service's real active key, with any header and claims. */
async function signWithRealKey(payload: Record<string, unknown>, header: Partial<JWTHeaderParameters> = {}) {
  const key = await h.services.keys.signingKey();
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...header })
    .sign(key.privateKey);
}

/** Calls an endpoint that needs auth:internal and returns the status and problem code. */
async function probe(token: string) {
  const res = await h.json('GET', '/internal/users/00000000-0000-0000-0000-000000000000', undefined, {
    authorization: `Bearer ${token}`,
  });
  return { status: res.status, code: res.body.code as string };
}

describe('access tokens', () => {
  it('have the RFC 9068 shape of docs/internal-api.md', async () => {
    const token = await h.serviceToken();
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(typeof header!.kid).toBe('string');
    expect(payload).toMatchObject({
      iss: TEST_ISSUER,
      aud: 'velora',
      sub: 'client:test-orchestrator',
      client_id: 'test-orchestrator',
      roles: [],
    });
    expect((payload!.scope as string).split(' ').sort()).toEqual([
      'auth:internal',
      'wallet:admin',
      'wallet:read',
      'wallet:write',
    ]);
    expect((payload!.exp as number) - (payload!.iat as number)).toBeLessThanOrEqual(900);
    expect(typeof payload!.jti).toBe('string');
    expect((await probe(token)).status).toBe(404); // accepted: the user simply does not exist
  });

  it('a correctly signed token built here is accepted (the attacks below differ in one thing only)', async () => {
    expect((await probe(await signWithRealKey(claims()))).status).toBe(404);
  });
});

describe('JWT attacks, each rejected with 401', () => {
  it('alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`;
    expect(await probe(token)).toMatchObject({ status: 401, code: 'invalid_token' });
  });

  it('HS256 signed with the public key as the HMAC secret (algorithm confusion)', async () => {
    const { keys } = await h.services.keys.jwks();
    const kid = (await h.services.keys.signingKey()).kid;
    const jwk = keys.find((k) => k.kid === kid)!;
    for (const secret of [JSON.stringify(jwk), Buffer.from(JSON.stringify(jwk)).toString('base64')]) {
      const signingInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64(claims())}`;
      const sig = createHmac('sha256', secret).update(signingInput).digest('base64url');
      expect(await probe(`${signingInput}.${sig}`)).toMatchObject({ status: 401 });
    }
  });

  it('unknown or injected kid', async () => {
    const key = await h.services.keys.signingKey();
    for (const kid of ['unknown-kid', "' OR '1'='1", '../../etc/passwd', 'x'.repeat(500)]) {
      const token = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
        .sign(key.privateKey);
      expect(await probe(token)).toMatchObject({ status: 401 });
    }
  });

  it('jku, x5u and embedded jwk headers pointing at an attacker key', async () => {
    const attacker = await generateKeyPair('ES256');
    const attackerJwk = await exportJWK(attacker.publicKey);
    const kid = (await h.services.keys.signingKey()).kid;
    for (const extra of [
      { jku: 'https://evil.example/jwks.json' },
      { x5u: 'https://evil.example/cert.pem' },
      { jwk: attackerJwk },
    ]) {
      const forged = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, ...extra })
        .sign(attacker.privateKey);
      expect(await probe(forged)).toMatchObject({ status: 401 });
    }
    // Even with our own key, a token carrying such a header is refused outright.
    expect(
      await probe(await signWithRealKey(claims(), { jku: 'https://evil.example/jwks.json' })),
    ).toMatchObject({ status: 401 });
  });

  it('expired and not-yet-valid tokens', async () => {
    expect(await probe(await signWithRealKey(claims({ iat: now() - 3600, exp: now() - 60 })))).toMatchObject({
      status: 401,
      code: 'token_expired',
    });
    expect(await probe(await signWithRealKey(claims({ nbf: now() + 600 })))).toMatchObject({ status: 401 });
  });

  it('wrong issuer, audience or type', async () => {
    expect((await probe(await signWithRealKey(claims({ iss: 'https://evil.example' })))).status).toBe(401);
    expect((await probe(await signWithRealKey(claims({ aud: 'another-api' })))).status).toBe(401);
    expect((await probe(await signWithRealKey(claims(), { typ: 'JWT' }))).status).toBe(401);
    // An id_token-like token (typ JWT, aud = client) cannot be used as an access token.
    expect(
      (await probe(await signWithRealKey(claims({ aud: 'test-orchestrator' }), { typ: 'JWT' }))).status,
    ).toBe(401);
  });

  it('tampered payload (scope raised after signing)', async () => {
    const user = await h.createUser();
    const session = await h.login(user.email, user.password);
    const [header, , sig] = (session.body.access_token as string).split('.');
    const payload = JSON.parse(
      Buffer.from((session.body.access_token as string).split('.')[1]!, 'base64url').toString(),
    ) as Record<string, unknown>;
    const tampered = `${header}.${b64({ ...payload, sub: `client:test-orchestrator`, scope: 'auth:internal', roles: ['admin'] })}.${sig}`;
    expect((await probe(tampered)).status).toBe(401);
  });

  it('a user token cannot reach internal routes even with a forged-looking scope', async () => {
    const token = await signWithRealKey(claims({ sub: randomUUID(), client_id: 'velora-app' }));
    expect(await probe(token)).toMatchObject({ status: 403, code: 'service_token_required' });
  });
});

describe('refresh tokens', () => {
  it('are opaque 256-bit values stored only as hashes, rotated on every use', async () => {
    const user = await h.createUser();
    const first = await h.login(user.email, user.password);
    const rt = first.body.refresh_token as string;
    expect(Buffer.from(rt, 'base64url').length).toBeGreaterThanOrEqual(32);
    const stored = await h.db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute();
    expect(stored).toHaveLength(1);
    expect(stored[0]!.token_hash).not.toContain(rt);
    const second = await h.form('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: rt });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(rt);
    expect(second.body.access_token).not.toBe(first.body.access_token);
    const third = await h.form('/v1/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: second.body.refresh_token,
    });
    expect(third.status).toBe(200);
  });

  it('replaying a rotated refresh token revokes the whole family and its access tokens', async () => {
    const user = await h.createUser();
    const login = await h.login(user.email, user.password);
    const stolen = login.body.refresh_token as string;
    const legit = await h.form('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: stolen });
    expect(legit.status).toBe(200);
    const replay = await h.form('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: stolen });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    // The legitimate holder's newer refresh token died with the family...
    const after = await h.form('/v1/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: legit.body.refresh_token,
    });
    expect(after.body.error).toBe('invalid_grant');
    // ...and so did the access token issued from it.
    expect(
      (await h.json('GET', '/v1/auth/me', undefined, { authorization: `Bearer ${legit.body.access_token}` }))
        .status,
    ).toBe(401);
    expect(await listAuthEvents(h.db, { subject: user.id, event: 'refresh_reuse_detected' })).toHaveLength(1);
  });

  it('two concurrent uses of one refresh token: at most one succeeds', async () => {
    const user = await h.createUser();
    const login = await h.login(user.email, user.password);
    const results = await Promise.all(
      [1, 2].map(() =>
        h.form('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: login.body.refresh_token }),
      ),
    );
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
  });

  it('have an absolute lifetime that rotation does not extend', async () => {
    const user = await h.createUser();
    const login = await h.login(user.email, user.password);
    const before = await h.db
      .selectFrom('refresh_tokens')
      .select('expires_at')
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow();
    const next = await h.form('/v1/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: login.body.refresh_token,
    });
    const rows = await h.db
      .selectFrom('refresh_tokens')
      .select('expires_at')
      .where('user_id', '=', user.id)
      .execute();
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.expires_at.getTime()).toBe(before.expires_at.getTime());
    // Past the family's end, the token is refused.
    await h.db
      .updateTable('refresh_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('user_id', '=', user.id)
      .execute();
    const late = await h.form('/v1/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: next.body.refresh_token,
    });
    expect(late.body.error).toBe('invalid_grant');
  });

  it('cannot be redeemed by another client', async () => {
    const user = await h.createUser();
    const login = await h.login(user.email, user.password);
    const res = await h.form(
      '/v1/auth/token',
      { grant_type: 'refresh_token', refresh_token: login.body.refresh_token },
      h.basic('test-gateway', 'test-gateway-secret-0123456789abc'),
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unauthorized_client');
  });
});

describe('token endpoint', () => {
  it('accepts client_secret_post and refuses wrong secrets, unknown clients, unsupported grants', async () => {
    const ok = await h.form('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: 'test-gateway',
      client_secret: 'test-gateway-secret-0123456789abc',
    });
    expect(ok.status).toBe(200);
    expect((ok.body.scope as string).split(' ').sort()).toEqual([
      'auth:internal',
      'wallet:admin',
      'wallet:read',
    ]);
    const narrowed = await h.form(
      '/v1/auth/token',
      { grant_type: 'client_credentials', scope: 'wallet:read' },
      h.basic('test-gateway', 'test-gateway-secret-0123456789abc'),
    );
    expect(narrowed.body.scope).toBe('wallet:read');
    const escalate = await h.form(
      '/v1/auth/token',
      { grant_type: 'client_credentials', scope: 'wallet:write' },
      h.basic('test-gateway', 'test-gateway-secret-0123456789abc'),
    );
    expect(escalate.body.error).toBe('invalid_scope');
    const bad = await h.form(
      '/v1/auth/token',
      { grant_type: 'client_credentials' },
      h.basic('test-gateway', 'wrong-secret'),
    );
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe('invalid_client');
    expect(bad.headers.get('www-authenticate')).toContain('Basic');
    const unknown = await h.form(
      '/v1/auth/token',
      { grant_type: 'client_credentials' },
      h.basic('nobody', 'whatever-secret'),
    );
    expect(unknown.body.error).toBe('invalid_client');
    const user = await h.createUser();
    const password = await h.form('/v1/auth/token', {
      grant_type: 'password',
      username: user.email,
      password: user.password,
      client_id: 'velora-app',
    });
    expect(password.body.error).toBe('unsupported_grant_type');
    const publicCc = await h.form('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: 'velora-app',
    });
    expect(publicCc.body.error).toBe('invalid_client');
  });
});
