import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { ProblemError } from './problem.js';
import { createServiceApp, respondJson, responseHeaders } from './service-app.js';

function buildApp() {
  const { app } = createServiceApp({
    service: 'skeleton-test',
    log: createLogger('skeleton-test', 'silent'),
    readiness: async () => ({}),
    maxBodyBytes: 1024,
  });
  app.use('*', async (c, next) => {
    responseHeaders(c)['ratelimit-limit'] = '10';
    await next();
  });
  app.get('/fast', (c) => respondJson(c, { ok: true }, 200));
  app.get('/json', (c) => c.json({ ok: true }, 200, { 'x-frame-options': 'DENY' }));
  app.get('/problem', () => {
    throw new ProblemError(409, 'conflict_here', 'no', {}, { 'retry-after': '3' });
  });
  app.post('/echo', async (c) => c.json({ length: (await c.req.text()).length }));
  return app;
}

const app = buildApp();
let server: ServerType;
let base: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function expectSkeletonHeaders(res: Response, requestId?: string, middlewareRan = true) {
  if (requestId) expect(res.headers.get('x-request-id')).toBe(requestId);
  else expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('strict-transport-security')).toContain('max-age=');
  expect(res.headers.get('ratelimit-limit')).toBe(middlewareRan ? '10' : null);
}

describe('createServiceApp response headers', () => {
  it('puts the request id, security headers and middleware headers on the light path over HTTP', async () => {
    const res = await fetch(`${base}/fast`, { headers: { 'x-request-id': 'caller-1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ ok: true });
    expectSkeletonHeaders(res, 'caller-1');
  });

  it('adds them to responses built by Hono and to problems, where the handler did not set its own', async () => {
    const json = await fetch(`${base}/json`);
    expectSkeletonHeaders(json);
    expect(json.headers.get('x-frame-options')).toBe('DENY');
    const problem = await fetch(`${base}/problem`);
    expect(problem.status).toBe(409);
    expect(problem.headers.get('content-type')).toBe('application/problem+json');
    expect(problem.headers.get('retry-after')).toBe('3');
    expectSkeletonHeaders(problem);
    const missing = await app.request('/nope');
    expect(missing.status).toBe(404);
    expectSkeletonHeaders(missing);
  });

  it('keeps the caller request id on a chunked body (the body limit replaces the request)', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"a":1}'));
        controller.close();
      },
    });
    const res = await app.request('/echo', {
      method: 'POST',
      body,
      headers: { 'x-request-id': 'chunked-1', 'content-type': 'application/json' },
      duplex: 'half',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ length: 7 });
    expectSkeletonHeaders(res, 'chunked-1');
  });

  it('still refuses bodies over the limit', async () => {
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      body: 'x'.repeat(2048),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe('payload_too_large');
    expectSkeletonHeaders(res, undefined, false);
  });
});
