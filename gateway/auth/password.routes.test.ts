import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denylistKey } from '../../lib/denylist.js';
import { createHarness, type Harness } from '../testing/harness.js';

const AUTH_PER_MINUTE = 5;

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ env: { RATE_LIMIT_AUTH_PER_MINUTE: String(AUTH_PER_MINUTE) } });
  // AuthService's answers for the password routes (the stand-in serves them from here on).
  const problem = (status: number, code: string, extra: Record<string, unknown> = {}) =>
    Response.json(
      { type: 'about:blank', title: 'Problem', status, detail: code, code, ...extra },
      { status, headers: { 'content-type': 'application/problem+json' } },
    );
  h.auth.app.post('/v1/auth/password/change', async (c) => {
    const body: { current_password: string } = await c.req.json();
    if (body.current_password !== 'correct horse battery staple') return problem(401, 'invalid_credentials');
    return c.body(null, 204);
  });
  h.auth.app.post('/v1/auth/password/reset', async (c) => {
    const body: { email: string } = await c.req.json();
    if (body.email === 'again@example.com') {
      const res = problem(429, 'otp_cooldown');
      res.headers.set('retry-after', '42');
      return res;
    }
    return c.json({ expires_at: '2026-12-01T12:05:00.000Z' }, 202);
  });
  h.auth.app.post('/v1/auth/password/reset/confirm', async (c) => {
    const body: { code: string } = await c.req.json();
    if (body.code !== '123456') return problem(422, 'otp_invalid', { attempts_left: 4 });
    return c.body(null, 204);
  });
});
afterAll(async () => h?.close());

/** A fresh client address per request group: the auth bucket counts per address. */
let peers = 0;
const peer = () => `198.51.100.${++peers}`;

/** What reached AuthService with this request id. */
const upstreamCall = (requestId: string) => h.auth.seen.find((s) => s.headers['x-request-id'] === requestId);

describe('POST /v1/auth/password/change', () => {
  it('forwards a signed-in caller to AuthService with the bearer token and client address', async () => {
    const u = await h.user();
    const requestId = `pw-change-${randomUUID()}`;
    const from = peer();
    const res = await h.request('/v1/auth/password/change', {
      method: 'POST',
      peer: from,
      headers: { ...u.auth, 'x-request-id': requestId },
      json: { current_password: 'correct horse battery staple', new_password: 'a new long passphrase' },
    });
    expect(res.status).toBe(204);
    const seen = upstreamCall(requestId);
    expect(seen?.path).toBe('/v1/auth/password/change');
    expect(seen?.headers.authorization).toBe(u.auth.authorization);
    expect(seen?.headers['x-forwarded-for']).toBe(from);
    expect(JSON.parse(seen!.body)).toEqual({
      current_password: 'correct horse battery staple',
      new_password: 'a new long passphrase',
    });

    const wrong = await h.request('/v1/auth/password/change', {
      method: 'POST',
      peer: from,
      headers: u.auth,
      json: { current_password: 'guess', new_password: 'a new long passphrase' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect((await wrong.json()).code).toBe('invalid_credentials');
  });

  it('refuses at the door: no token, a revoked token, unknown fields (nothing reaches AuthService)', async () => {
    const u = await h.user();
    const body = { current_password: 'correct horse battery staple', new_password: 'a new long passphrase' };
    const cases: { headers: Record<string, string>; json: unknown; status: number; code: string }[] = [
      { headers: {}, json: body, status: 401, code: 'unauthorized' },
      { headers: u.auth, json: { ...body, user_id: randomUUID() }, status: 400, code: 'validation_failed' },
      {
        headers: u.auth,
        json: { current_password: body.current_password },
        status: 400,
        code: 'validation_failed',
      },
    ];
    for (const c of cases) {
      const requestId = `pw-door-${randomUUID()}`;
      const res = await h.request('/v1/auth/password/change', {
        method: 'POST',
        peer: peer(),
        headers: { ...c.headers, 'x-request-id': requestId },
        json: c.json,
      });
      expect(res.status).toBe(c.status);
      expect((await res.json()).code).toBe(c.code);
      expect(upstreamCall(requestId)).toBeUndefined();
    }
    // A logged-out (denylisted) access token cannot change the password.
    const [, payload] = u.token.split('.');
    const { jti } = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { jti: string };
    await h.redis.set(denylistKey(jti), '1', { EX: 60 });
    const requestId = `pw-revoked-${randomUUID()}`;
    const revoked = await h.request('/v1/auth/password/change', {
      method: 'POST',
      peer: peer(),
      headers: { ...u.auth, 'x-request-id': requestId },
      json: body,
    });
    expect(revoked.status).toBe(401);
    expect((await revoked.json()).code).toBe('token_revoked');
    expect(upstreamCall(requestId)).toBeUndefined();
  });
});

describe('password reset', () => {
  it('is public: the request answers 202 and the confirmation 204, relayed from AuthService', async () => {
    const from = peer();
    const requested = await h.request('/v1/auth/password/reset', {
      method: 'POST',
      peer: from,
      json: { email: 'ada@example.com' },
    });
    expect(requested.status).toBe(202);
    expect(await requested.json()).toEqual({ expires_at: '2026-12-01T12:05:00.000Z' });

    const requestId = `pw-confirm-${randomUUID()}`;
    const confirmed = await h.request('/v1/auth/password/reset/confirm', {
      method: 'POST',
      peer: from,
      headers: { 'x-request-id': requestId },
      json: { email: 'ada@example.com', code: '123456', new_password: 'a new long passphrase' },
    });
    expect(confirmed.status).toBe(204);
    expect(upstreamCall(requestId)?.headers['x-forwarded-for']).toBe(from);
  });

  it("relays AuthService's refusals as problem+json with their codes and Retry-After", async () => {
    const cooldown = await h.request('/v1/auth/password/reset', {
      method: 'POST',
      peer: peer(),
      json: { email: 'again@example.com' },
    });
    expect(cooldown.status).toBe(429);
    expect(cooldown.headers.get('retry-after')).toBe('42');
    expect((await cooldown.json()).code).toBe('otp_cooldown');

    const wrong = await h.request('/v1/auth/password/reset/confirm', {
      method: 'POST',
      peer: peer(),
      json: { email: 'ada@example.com', code: '000000', new_password: 'a new long passphrase' },
    });
    expect(wrong.status).toBe(422);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect(await wrong.json()).toMatchObject({ code: 'otp_invalid', attempts_left: 4 });
  });

  it('validates bodies strictly before AuthService sees them', async () => {
    for (const [path, json] of [
      ['/v1/auth/password/reset', { email: 'ada@example.com', purpose: 'login' }],
      ['/v1/auth/password/reset', { email: 'x'.repeat(300) }],
      ['/v1/auth/password/reset/confirm', { email: 'ada@example.com', code: '123456' }],
      [
        '/v1/auth/password/reset/confirm',
        { email: 'ada@example.com', code: '1'.repeat(64), new_password: 'p' },
      ],
    ] as const) {
      const requestId = `pw-strict-${randomUUID()}`;
      const res = await h.request(path, {
        method: 'POST',
        peer: peer(),
        headers: { 'x-request-id': requestId },
        json,
      });
      expect(res.status).toBe(400);
      expect(upstreamCall(requestId)).toBeUndefined();
    }
  });

  it('counts toward the auth budget of the client address', async () => {
    const from = peer();
    for (let i = 0; i < AUTH_PER_MINUTE; i++) {
      const res = await h.request('/v1/auth/password/reset', {
        method: 'POST',
        peer: from,
        json: { email: `user-${i}@example.com` },
      });
      expect(res.status).toBe(202);
    }
    const requestId = `pw-budget-${randomUUID()}`;
    const limited = await h.request('/v1/auth/password/reset/confirm', {
      method: 'POST',
      peer: from,
      headers: { 'x-request-id': requestId },
      json: { email: 'ada@example.com', code: '123456', new_password: 'a new long passphrase' },
    });
    expect(limited.status).toBe(429);
    expect((await limited.json()).code).toBe('rate_limited');
    expect(upstreamCall(requestId)).toBeUndefined();
  });
});

describe('OpenAPI', () => {
  it('documents the three routes with the contract field names', async () => {
    const doc = await (await h.request('/openapi.json')).json();
    const change = doc.paths['/v1/auth/password/change'].post;
    expect(change.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(change.responses)).toEqual(expect.arrayContaining(['204', '401', '422', '429']));
    expect(doc.paths['/v1/auth/password/reset'].post.security).toBeUndefined();
    expect(Object.keys(doc.paths['/v1/auth/password/reset'].post.responses)).toContain('202');
    expect(Object.keys(doc.paths['/v1/auth/password/reset/confirm'].post.responses)).toContain('204');
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.PasswordChangeRequest.properties)).toEqual([
      'current_password',
      'new_password',
    ]);
    expect(Object.keys(schemas.PasswordResetRequest.properties)).toEqual(['email']);
    expect(Object.keys(schemas.PasswordResetConfirmRequest.properties)).toEqual([
      'email',
      'code',
      'new_password',
    ]);
    expect(schemas.PasswordResetConfirmRequest.additionalProperties).toBe(false);
  });
});
