import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ temporal: true });
});
afterAll(async () => h?.close());

describe('/v1/auth', () => {
  it('registers through the onboarding saga and answers 201 { user_id, wallet_id, status }', async () => {
    const res = await h.request('/v1/auth/register', {
      method: 'POST',
      json: { email: 'ada@example.com', password: 'correct horse battery staple', phone: '+442079460958' },
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toEqual({ user_id: expect.any(String), wallet_id: expect.any(String), status: 'active' });
    // The password went to AuthService only (it never enters a workflow history).
    const parked = h.auth.seen.find((s) => s.path === '/internal/registrations');
    expect(parked?.headers.authorization).toBe('Bearer gateway-service-token');
  });

  it('relays AuthService refusals (weak password) and reports a failed saga with its code', async () => {
    const weak = await h.request('/v1/auth/register', {
      method: 'POST',
      json: { email: 'bob@example.com', password: 'short' },
    });
    expect(weak.status).toBe(422);
    expect((await weak.json()).code).toBe('weak_password');

    const failed = await h.request('/v1/auth/register', {
      method: 'POST',
      json: { email: 'eve@example.com', password: 'correct horse battery staple', currency: 'CHF' },
    });
    expect(failed.status).toBe(422);
    expect((await failed.json()).code).toBe('currency_not_supported');
  });

  it('validates register bodies strictly', async () => {
    for (const json of [
      { email: 'not-an-email', password: 'correct horse battery staple' },
      { email: 'ada@example.com', password: 'correct horse battery staple', roles: ['admin'] },
      { email: 'ada@example.com' },
    ]) {
      const res = await h.request('/v1/auth/register', { method: 'POST', json });
      expect(res.status).toBe(400);
    }
  });

  it('proxies login: passes the answer through without internal headers, with the client IP', async () => {
    const res = await h.request('/v1/auth/login', {
      method: 'POST',
      peer: '198.51.100.77',
      json: { email: 'ada@example.com', password: 'correct horse battery staple' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      access_token: 'at',
      refresh_token: 'rt',
      token_type: 'Bearer',
      expires_in: 900,
    });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('server')).toBeNull();
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const seen = h.auth.seen.findLast((s) => s.path === '/v1/auth/login');
    expect(seen?.headers['x-forwarded-for']).toBe('198.51.100.77');

    const wrong = await h.request('/v1/auth/login', {
      method: 'POST',
      json: { email: 'ada@example.com', password: 'nope' },
    });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).code).toBe('invalid_credentials');
  });

  it('proxies the form-encoded token endpoint', async () => {
    const res = await h.request('/v1/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=rt',
    });
    expect(res.status).toBe(200);
    expect((await res.json()).access_token).toBe('at2');
    const bad = await h.request('/v1/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=password&username=a&password=b',
    });
    expect(bad.status).toBe(400);
  });

  it('answers /me for a valid token only', async () => {
    const u = await h.user();
    const res = await h.request('/v1/auth/me', { headers: u.auth });
    expect(res.status).toBe(200);
    expect((await res.json()).user_id).toBe(u.id);
    expect((await h.request('/v1/auth/me')).status).toBe(401);
  });

  it('passes the well-known documents through', async () => {
    const jwks = await h.request('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect((await jwks.json()).keys[0].kid).toBe(h.issuer.kid);
    expect((await h.request('/.well-known/openid-configuration')).status).toBe(200);
  });

  it('passes the authorization endpoint through: sign-in page with its CSP, redirect with the code', async () => {
    const page = await h.request('/v1/auth/authorize?response_type=code&client_id=web&evil=1');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe("default-src 'none'");
    expect(await page.text()).toContain('r-web');
    const seen = h.auth.seen.findLast((s) => s.path === '/v1/auth/authorize');
    expect(seen).toBeDefined();

    const submit = await h.request('/v1/auth/authorize', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'request_id=req-1&email=ada%40example.com&password=x',
    });
    expect(submit.status).toBe(302);
    expect(submit.headers.get('location')).toBe('https://client.example/cb?code=abc&state=req-1');
  });

  it('passes token revocation through', async () => {
    const res = await h.request('/v1/auth/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=rt&client_id=web',
    });
    expect(res.status).toBe(200);
    expect(h.auth.seen.findLast((s) => s.path === '/v1/auth/revoke')?.body).toBe('token=rt&client_id=web');
  });

  it('does not forward client_credentials from the internet (services ask AuthService directly)', async () => {
    const requestId = `cc-${Date.now()}`;
    const res = await h.request('/v1/auth/token', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('velora-orchestrator:guess-1').toString('base64')}`,
        'x-request-id': requestId,
      },
      body: 'grant_type=client_credentials&scope=wallet%3Aadmin',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body.error).toBe('unsupported_grant_type');
    expect(body.code).toBe('unsupported_grant_type');
    expect(h.auth.seen.some((s) => s.headers['x-request-id'] === requestId)).toBe(false);
  });

  it('does not serve token introspection publicly', async () => {
    const res = await h.request('/v1/auth/introspect', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=at&client_id=velora-gateway&client_secret=guess',
    });
    expect(res.status).toBe(404);
    expect(h.auth.seen.some((s) => s.path === '/v1/auth/introspect')).toBe(false);
  });
});
