import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTestIssuer, TEST_AUDIENCE, TEST_ISSUER } from '../test/support/tokens.js';
import { createAccessTokenVerifier } from './jwt-verifier.js';
import { ProblemError } from './problem.js';

/** A verifier over the test issuer's keys that counts how often a signature was checked. */
async function countingVerifier(options: {
  cacheSize?: number;
  cacheMaxAgeMs?: number;
  revoked?: Set<string>;
}) {
  const issuer = await createTestIssuer();
  const keys = createLocalJWKSet(issuer.jwks);
  let checks = 0;
  const jwks: JWTVerifyGetKey = (header, token) => {
    checks += 1;
    return keys(header, token);
  };
  const verify = createAccessTokenVerifier({
    jwks,
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    cacheSize: options.cacheSize,
    cacheMaxAgeMs: options.cacheMaxAgeMs,
    isRevoked: async (jti) => options.revoked?.has(jti) ?? false,
  });
  return { issuer, verify, checks: () => checks };
}

describe('access token verification cache', () => {
  it('checks a repeated token once, and each different token on its own', async () => {
    const v = await countingVerifier({ cacheSize: 100 });
    const a = await v.issuer.mint({ sub: randomUUID(), scope: 'wallet:read' });
    const b = await v.issuer.mint({ sub: randomUUID() });
    expect((await v.verify(a)).scopes.has('wallet:read')).toBe(true);
    await v.verify(a);
    await v.verify(a);
    expect(v.checks()).toBe(1);
    await v.verify(b);
    expect(v.checks()).toBe(2);
  });

  it('is off for a key set passed in unless asked for (a retired key must stop at once)', async () => {
    const v = await countingVerifier({});
    const token = await v.issuer.mint({ sub: randomUUID() });
    await v.verify(token);
    await v.verify(token);
    expect(v.checks()).toBe(2);
  });

  it('still answers revocation on every call', async () => {
    const revoked = new Set<string>();
    const v = await countingVerifier({ cacheSize: 100, revoked });
    const token = await v.issuer.mint({ sub: randomUUID() });
    const principal = await v.verify(token);
    revoked.add(principal.tokenId);
    const err = await v.verify(token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProblemError);
    expect((err as ProblemError).problem.code).toBe('token_revoked');
  });

  it('forgets an entry after its maximum age, and stays bounded', async () => {
    const v = await countingVerifier({ cacheSize: 2, cacheMaxAgeMs: 30 });
    const token = await v.issuer.mint({ sub: randomUUID() });
    await v.verify(token);
    await new Promise((r) => setTimeout(r, 60));
    await v.verify(token);
    expect(v.checks()).toBe(2);

    const bounded = await countingVerifier({ cacheSize: 2 });
    const tokens = await Promise.all([1, 2, 3].map(() => bounded.issuer.mint({ sub: randomUUID() })));
    for (const t of tokens) await bounded.verify(t);
    await bounded.verify(tokens[0]!); // the oldest left when the third arrived
    expect(bounded.checks()).toBe(4);
  });

  it('never remembers a refused token', async () => {
    const v = await countingVerifier({ cacheSize: 100 });
    const other = await createTestIssuer();
    const foreign = await other.mint({ sub: randomUUID() });
    for (let i = 0; i < 2; i++) await expect(v.verify(foreign)).rejects.toBeInstanceOf(ProblemError);
    expect(v.checks()).toBe(2);
  });
});
