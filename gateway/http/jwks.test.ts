import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';
import { TEST_AUDIENCE, TEST_ISSUER, createTestIssuer } from '../../test/support/tokens.js';
import { serveStub } from '../testing/stub-server.js';
import { createGatewayJwks } from './jwks.js';

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

async function verifierFor(url: string) {
  return createAccessTokenVerifier({
    jwks: createGatewayJwks(url, { timeoutMs: 500, cooldownMs: 0 }),
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
  });
}

async function problemOf(promise: Promise<unknown>) {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProblemError);
  return (err as ProblemError).problem;
}

describe('createGatewayJwks', () => {
  it('verifies against the remote key set and refetches it for a rotated key', async () => {
    let issuer = await createTestIssuer();
    const app = new Hono();
    app.get('/jwks.json', (c) => c.json(issuer.jwks));
    const server = await serveStub(app);
    closers.push(server.close);
    const verify = await verifierFor(`${server.url}/jwks.json`);
    const sub = randomUUID();
    expect((await verify(await issuer.mint({ sub }))).subject).toBe(sub);

    issuer = await createTestIssuer(); // new kid: jose must fetch the set again
    expect((await verify(await issuer.mint({ sub }))).subject).toBe(sub);
  });

  it('answers 503 jwks_unavailable when the key set cannot be fetched, 401 for a bad token', async () => {
    const issuer = await createTestIssuer();
    const down = await verifierFor('http://127.0.0.1:9/jwks.json');
    expect((await problemOf(down(await issuer.mint({ sub: randomUUID() })))).code).toBe('jwks_unavailable');

    const app = new Hono();
    app.get('/jwks.json', (c) => c.text('oops', 500));
    const server = await serveStub(app);
    closers.push(server.close);
    const broken = await verifierFor(`${server.url}/jwks.json`);
    expect((await problemOf(broken(await issuer.mint({ sub: randomUUID() })))).status).toBe(503);
    expect((await problemOf(broken('not-a-jwt'))).status).toBe(401);
  });
});
