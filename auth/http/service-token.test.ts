import { randomUUID } from 'node:crypto';
import { errors as joseErrors, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';
import { createHarness, type Harness } from '../testing/harness.js';
import { cacheVerifiedServiceTokens, keyPublishedIn } from './service-token.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

/** The verifier under test, counting how often the full (signature) check runs. */
function counted(verify: AccessTokenVerifier) {
  const counter = { full: 0 };
  const wrapped: AccessTokenVerifier = (token) => {
    counter.full++;
    return verify(token);
  };
  return { counter, wrapped };
}

const codeOf = (err: unknown) => (err instanceof ProblemError ? err.problem.code : String(err));

describe('service tokens on /internal/* (AuthService, real PostgreSQL and Redis)', () => {
  it('checks a service token once and refuses it at once after its revocation', async () => {
    const token = await h.serviceToken();
    const { counter, wrapped } = counted(h.services.tokens.verifyAccessToken);
    const verify = cacheVerifiedServiceTokens(wrapped, {
      keyPublished: keyPublishedIn(h.services.keys),
      isRevoked: (jti) => h.services.tokens.isRevoked(jti),
    });
    const first = await verify(token);
    const again = await verify(token);
    expect(again).toBe(first);
    expect(first.isService).toBe(true);
    expect(counter.full).toBe(1);

    const revoke = await h.form(
      '/v1/auth/revoke',
      { token },
      h.basic('test-orchestrator', 'test-orchestrator-secret-0123456789'),
    );
    expect(revoke.status).toBe(200);
    await expect(verify(token)).rejects.toSatisfy((err) => codeOf(err) === 'token_revoked');
  });

  it('serves /internal/* with the cache wired in, and a revoked token is refused on the next call', async () => {
    const user = await h.createUser();
    const token = await h.serviceToken();
    const read = () =>
      h.json('GET', `/internal/users/${user.id}`, undefined, { authorization: `Bearer ${token}` });
    expect((await read()).status).toBe(200);
    expect((await read()).status).toBe(200);
    await h.services.tokens.denylist(
      (await h.services.tokens.verifyAccessToken(token)).tokenId,
      Date.now() / 1000 + 600,
    );
    const refused = await read();
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('token_revoked');
  });

  it('never remembers a user token', async () => {
    const user = await h.createUser();
    const session = await h.login(user.email, user.password);
    const { counter, wrapped } = counted(h.services.tokens.verifyAccessToken);
    const verify = cacheVerifiedServiceTokens(wrapped, {
      keyPublished: keyPublishedIn(h.services.keys),
      isRevoked: (jti) => h.services.tokens.isRevoked(jti),
    });
    await verify(session.body.access_token as string);
    await verify(session.body.access_token as string);
    expect(counter.full).toBe(2);
  });

  it('reports a kid the key store does not hold as unpublished', async () => {
    const published = keyPublishedIn(h.services.keys);
    expect(await published((await h.services.keys.signingKey()).kid)).toBe(true);
    expect(await published('no-such-kid')).toBe(false);
  });
});

describe('what ends a remembered service token', () => {
  const issuer = 'http://auth.cache.test';

  async function setup(size?: number) {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const kid = randomUUID();
    const published = new Set<string>([kid]);
    // Like AuthService's key store: a key resolver by kid over the keys still published.
    const jwks = async (header: { kid?: string }) => {
      if (!header.kid || !published.has(header.kid)) throw new joseErrors.JWKSNoMatchingKey();
      return publicKey;
    };
    const revoked = new Set<string>();
    const clock = { now: Date.now() };
    const { counter, wrapped } = counted(
      createAccessTokenVerifier({ jwks, issuer, audience: 'velora', isRevoked: async (j) => revoked.has(j) }),
    );
    const verify = cacheVerifiedServiceTokens(wrapped, {
      keyPublished: async (k) => published.has(k),
      isRevoked: async (j) => revoked.has(j),
      now: () => clock.now,
      ...(size ? { size } : {}),
    });
    const sign = (sub = 'client:orchestrator', jti = randomUUID()) =>
      new SignJWT({ scope: 'auth:internal', roles: [], client_id: 'orchestrator' })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
        .setIssuer(issuer)
        .setAudience('velora')
        .setSubject(sub)
        .setJti(jti)
        .setIssuedAt()
        .setExpirationTime('15m')
        .sign(privateKey);
    return { verify, counter, published, revoked, clock, kid, sign };
  }

  it('a removed signing key: the cached token is checked in full and refused', async () => {
    const s = await setup();
    const token = await s.sign();
    await s.verify(token);
    await s.verify(token);
    expect(s.counter.full).toBe(1);
    s.published.delete(s.kid);
    await expect(s.verify(token)).rejects.toSatisfy((err) => codeOf(err) === 'invalid_token');
    expect(s.counter.full).toBe(2);
  });

  it('expiry: past exp the full check answers again', async () => {
    const s = await setup();
    const token = await s.sign();
    const principal = await s.verify(token);
    s.clock.now = principal.expiresAt * 1000;
    await s.verify(token);
    expect(s.counter.full).toBe(2);
  });

  it('revocation: refused with the full check’s own answer, and forgotten', async () => {
    const s = await setup();
    const token = await s.sign();
    const principal = await s.verify(token);
    s.revoked.add(principal.tokenId);
    await expect(s.verify(token)).rejects.toSatisfy((err) => codeOf(err) === 'token_revoked');
    await expect(s.verify(token)).rejects.toSatisfy((err) => codeOf(err) === 'token_revoked');
    expect(s.counter.full).toBe(3);
  });

  it('a user token is verified in full every time', async () => {
    const s = await setup();
    const token = await s.sign('user-1');
    await s.verify(token);
    await s.verify(token);
    expect(s.counter.full).toBe(2);
  });

  it('stays bounded: the least recently used token leaves first', async () => {
    const s = await setup(2);
    const [a, b, c] = await Promise.all([s.sign(), s.sign(), s.sign()]);
    await s.verify(a);
    await s.verify(b);
    await s.verify(a); // a is now the most recent
    await s.verify(c); // evicts b
    expect(s.counter.full).toBe(3);
    await s.verify(a);
    await s.verify(c);
    expect(s.counter.full).toBe(3);
    await s.verify(b);
    expect(s.counter.full).toBe(4);
  });

  it('a forged token is never remembered', async () => {
    const s = await setup();
    const token = await s.sign();
    const forged = `${token.slice(0, -4)}AAAA`;
    await expect(s.verify(forged)).rejects.toSatisfy((err) => codeOf(err) === 'invalid_token');
    await expect(s.verify(forged)).rejects.toSatisfy((err) => codeOf(err) === 'invalid_token');
    expect(s.counter.full).toBe(2);
  });
});
