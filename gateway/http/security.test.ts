import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsupportedMediaTypeProblem } from '../../lib/problem.js';
import { TEST_AUDIENCE, TEST_ISSUER } from '../../test/support/tokens.js';
import { createHarness, type Harness, type TestResponse } from '../testing/harness.js';
import { gatewayConfigSchema, metricsListener } from '../config.js';
import { clientIp } from './request-context.js';
import { jsonDepth } from './json-depth.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({
    env: {
      TRUSTED_PROXIES: '10.0.0.2',
      RATE_LIMIT_AUTH_PER_MINUTE: '3',
      CORS_ORIGINS: 'https://app.velora.test',
    },
  });
});
afterAll(async () => h?.close());

async function forge(claims: { aud?: string; iss?: string; exp?: number; typ?: string; sub?: string }) {
  return new SignJWT({ scope: 'openid wallet', roles: [], client_id: 'velora-web' })
    .setProtectedHeader({ alg: 'ES256', typ: claims.typ ?? 'at+jwt', kid: h.issuer.kid })
    .setIssuer(claims.iss ?? TEST_ISSUER)
    .setAudience(claims.aud ?? TEST_AUDIENCE)
    .setSubject(claims.sub ?? randomUUID())
    .setJti(randomUUID())
    .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
    .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 300)
    .sign(h.issuer.privateKey);
}

describe('tokens', () => {
  it('refuses a request without a token, with a stable code and WWW-Authenticate', async () => {
    const res = await h.request('/v1/wallets');
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    expect((await res.json()).code).toBe('unauthorized');
  });

  it.each([
    ['malformed', 'Bearer not.a.jwt'],
    ['non-bearer scheme', 'Basic dXNlcjpwYXNz'],
    ['empty bearer', 'Bearer '],
  ])('refuses a %s token', async (_name, header) => {
    const res = await h.request('/v1/wallets', { headers: { authorization: header } });
    expect(res.status).toBe(401);
    expect(['unauthorized', 'invalid_token']).toContain((await res.json()).code);
  });

  it('refuses an expired token with token_expired', async () => {
    const token = await forge({ exp: Math.floor(Date.now() / 1000) - 120 });
    const res = await h.request('/v1/wallets', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('token_expired');
  });

  it.each([
    ['wrong audience', { aud: 'another-api' }],
    ['wrong issuer', { iss: 'http://evil.test' }],
    ['wrong typ', { typ: 'JWT' }],
  ])('refuses a token with the %s', async (_name, claims) => {
    const token = await forge(claims);
    const res = await h.request('/v1/wallets', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('invalid_token');
  });

  it('refuses a token signed by a key outside the JWKS and one with alg none', async () => {
    const { createTestIssuer } = await import('../../test/support/tokens.js');
    const other = await createTestIssuer();
    const foreign = await other.mint({ sub: randomUUID() });
    const [, payload] = foreign.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`;
    for (const token of [foreign, none]) {
      const res = await h.request('/v1/wallets', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    }
  });

  it('stops accepting a token the moment it is revoked (logout)', async () => {
    const u = await h.user();
    h.wallet.addWallet(u.id);
    expect((await h.request('/v1/wallets', { headers: u.auth })).status).toBe(200);
    const out = await h.request('/v1/auth/logout', {
      method: 'POST',
      headers: u.auth,
      json: { refresh_token: 'rt' },
    });
    expect(out.status).toBe(204);
    const res = await h.request('/v1/wallets', { headers: u.auth });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('token_revoked');
  });

  it('keeps service tokens off end-user routes', async () => {
    const token = await h.issuer.serviceToken('wallet:read', 'orchestrator');
    const res = await h.request('/v1/wallets', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
    expect((await res.json()).code).toBe('user_token_required');
  });
});

describe('bodies', () => {
  it('refuses unknown fields (mass assignment), including __proto__', async () => {
    const u = await h.user();
    for (const json of [
      { currency: 'USD', user_id: randomUUID() },
      { currency: 'USD', balance: { posted: '1000000' } },
      '{"currency":"USD","__proto__":{"admin":true}}',
    ]) {
      const res = await h.request('/v1/wallets', { method: 'POST', headers: u.auth, json });
      expect(res.status).toBe(400);
      expect((await res.json()).code).toBe('validation_failed');
    }
  });

  it('refuses a wrong currency code', async () => {
    const u = await h.user();
    for (const currency of ['usd', 'ZZZ', 'US', 840]) {
      const res = await h.request('/v1/wallets', { method: 'POST', headers: u.auth, json: { currency } });
      expect(res.status).toBe(400);
    }
  });

  it('refuses a body over 64 KiB, with and without Content-Length', async () => {
    const u = await h.user();
    const big = JSON.stringify({ currency: 'USD', pad: 'x'.repeat(70 * 1024) });
    const withLength = await h.request('/v1/wallets', { method: 'POST', headers: u.auth, json: big });
    expect(withLength.status).toBe(413);
    expect((await withLength.json()).code).toBe('payload_too_large');

    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.subarray(i, i + 8192));
        controller.close();
      },
    });
    const chunked = await h.app.request(
      '/v1/wallets',
      {
        method: 'POST',
        headers: { ...u.auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        body: stream,
        duplex: 'half',
      },
      { incoming: { socket: { remoteAddress: '203.0.113.9' } } },
    );
    expect(chunked.status).toBe(413);
  });

  it('refuses deeply nested JSON before parsing it', async () => {
    const u = await h.user();
    const deep = `{"currency":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const res = await h.request('/v1/wallets', { method: 'POST', headers: u.auth, json: deep });
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('json_too_deep');
    expect(jsonDepth('{"a":"[[[[","b":[{}]}')).toBe(3);
  });

  it('refuses malformed JSON and a wrong media type', async () => {
    const u = await h.user();
    const bad = await h.request('/v1/wallets', { method: 'POST', headers: u.auth, json: '{"currency":' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).code).toBe('malformed_json');
    const form = await h.request('/v1/wallets', {
      method: 'POST',
      headers: { ...u.auth, 'content-type': 'text/plain' },
      body: 'currency=USD',
    });
    expect(form.status).toBe(415);
    // The words every service answers a wrong media type with (lib/problem.ts).
    expect(await form.json()).toMatchObject({
      code: 'unsupported_media_type',
      detail: unsupportedMediaTypeProblem().detail,
    });
  });
});

describe('client IP and rate limits', () => {
  it('believes X-Forwarded-For only from a trusted proxy', () => {
    const trusted = new Set(['10.0.0.2']);
    expect(clientIp('198.51.100.1', '1.2.3.4', trusted)).toBe('198.51.100.1');
    expect(clientIp('10.0.0.2', '1.2.3.4', trusted)).toBe('1.2.3.4');
    expect(clientIp('10.0.0.2', '6.6.6.6, 1.2.3.4', trusted)).toBe('1.2.3.4');
    expect(clientIp('::ffff:10.0.0.2', '1.2.3.4', trusted)).toBe('1.2.3.4');
    expect(clientIp(undefined, '1.2.3.4', trusted)).toBe('unknown');
  });

  it('answers 429 with Retry-After and RateLimit headers once the auth budget is spent', async () => {
    const peer = '198.51.100.20';
    const statuses: number[] = [];
    let last: TestResponse | undefined;
    for (let i = 0; i < 4; i++) {
      last = await h.request('/v1/auth/login', {
        method: 'POST',
        peer,
        json: { email: 'ada@example.com', password: 'nope' },
      });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.headers.get('ratelimit-limit')).toBe('3');
    expect(last!.headers.get('ratelimit-remaining')).toBe('0');
    expect((await last!.json()).code).toBe('rate_limited');
    const metrics = await (await h.metricsApp.request('/metrics')).text();
    expect(metrics).toMatch(/gateway_rate_limited_total\{bucket="auth"[^}]*\} [1-9]/);
  });

  it('does not let a direct client dodge the limit with a spoofed X-Forwarded-For', async () => {
    const peer = '198.51.100.21';
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await h.request('/v1/auth/login', {
        method: 'POST',
        peer,
        headers: { 'x-forwarded-for': `192.0.2.${i}` },
        json: { email: 'ada@example.com', password: 'nope' },
      });
      statuses.push(res.status);
    }
    expect(statuses.at(-1)).toBe(429);
  });

  it('counts clients behind a trusted proxy separately', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await h.request('/v1/auth/login', {
        method: 'POST',
        peer: '10.0.0.2',
        headers: { 'x-forwarded-for': `192.0.2.${100 + i}` },
        json: { email: 'ada@example.com', password: 'nope' },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401]);
  });
});

describe('metrics', () => {
  it('are not served on the public listener, only on the private one', async () => {
    const pub = await h.request('/metrics');
    expect(pub.status).toBe(404);
    expect(await pub.text()).not.toContain('http_server_duration_seconds');
    const priv = await h.metricsApp.request('/metrics');
    expect(priv.status).toBe(200);
    expect(await priv.text()).toContain('http_server_duration_seconds');
    expect((await h.metricsApp.request('/v1/wallets')).status).toBe(404);
  });

  it('bind to loopback next to the public port unless configured', () => {
    const port = gatewayConfigSchema.shape.GATEWAY_METRICS_PORT;
    // .env.example leaves the port empty: that means "the default".
    expect(port.parse('')).toBeUndefined();
    expect(port.parse('9464')).toBe(9464);
    expect(() => port.parse('70000')).toThrow();
    const config = { ...h.config, GATEWAY_PORT: 18080, GATEWAY_METRICS_PORT: undefined };
    expect(metricsListener(config)).toEqual({ host: '127.0.0.1', port: 18180 });
    expect(
      metricsListener({ ...config, GATEWAY_METRICS_HOST: '10.0.0.5', GATEWAY_METRICS_PORT: 9464 }),
    ).toEqual({ host: '10.0.0.5', port: 9464 });
  });
});

describe('responses', () => {
  it('allows CORS only for configured origins', async () => {
    const allowed = await h.request('/v1/wallets', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.velora.test', 'access-control-request-method': 'POST' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.velora.test');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    const denied = await h.request('/healthz', { headers: { origin: 'https://evil.test' } });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('carries x-request-id (echoed when well-formed) and security headers', async () => {
    const res = await h.request('/healthz', { headers: { 'x-request-id': 'client-abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('client-abc-123');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const generated = await h.request('/v1/nope', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.status).toBe(404);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('puts the security headers and the request id on every kind of response', async () => {
    const u = await h.user();
    const w = h.wallet.addWallet(u.id);
    const responses = [
      await h.request('/v1/wallets', { headers: u.auth }), // built by a route
      await h.request(`/v1/wallets/${w.id}`, { headers: u.auth }), // the light path (respondJson)
      await h.request('/v1/wallets'), // a thrown problem (401)
      await h.request('/v1/nope'), // not found
      await h.request('/.well-known/jwks.json'), // forwarded from AuthService
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 401, 404, 200]);
    for (const res of responses) {
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('strict-transport-security')).toContain('max-age=');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('propagates the request id and a W3C traceparent to upstream services', async () => {
    const u = await h.user();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await h.request('/v1/wallets', {
      headers: { ...u.auth, 'x-request-id': 'trace-me-1', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    const call = h.wallet.seen.findLast((s) => s.headers['x-request-id'] === 'trace-me-1');
    expect(call).toBeDefined();
    expect(call!.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(call!.headers.traceparent).not.toContain('00f067aa0ba902b7');
  });
});
