import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { UpstreamUnavailableError } from '../../lib/http-client.js';
import { serveStub } from '../testing/stub-server.js';
import { createUpstream } from './upstream.js';

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

async function stub(app: Hono) {
  const s = await serveStub(app);
  closers.push(s.close);
  return s.url;
}

describe('createUpstream', () => {
  it('retries an idempotent read once after a 5xx, never a write', async () => {
    let reads = 0;
    let writes = 0;
    const app = new Hono();
    app.get('/r', (c) => (++reads === 1 ? c.json({ code: 'x', status: 503 }, 503) : c.json({ ok: true })));
    app.post('/w', (c) => {
      writes++;
      return c.json({ code: 'x', status: 503 }, 503);
    });
    const up = createUpstream({
      name: 'wallet',
      baseUrl: await stub(app),
      timeoutMs: 1000,
      breakAfter: 10,
      halfOpenAfterMs: 60_000,
    });
    const read = await up.client.request('GET', '/r');
    expect(read.ok).toBe(true);
    expect(reads).toBe(2);
    const write = await up.client.request('POST', '/w', { body: {} });
    expect(write.status).toBe(503);
    expect(writes).toBe(1);
  });

  it('opens the circuit after repeated failures and then fails fast without calling', async () => {
    let calls = 0;
    const app = new Hono();
    app.post('/w', (c) => {
      calls++;
      return c.json({ code: 'x', status: 500 }, 500);
    });
    const up = createUpstream({
      name: 'wallet',
      baseUrl: await stub(app),
      timeoutMs: 1000,
      breakAfter: 3,
      halfOpenAfterMs: 60_000,
    });
    for (let i = 0; i < 3; i++) await up.client.request('POST', '/w', { body: {} });
    expect(up.isAvailable()).toBe(false);
    await expect(up.client.request('POST', '/w', { body: {} })).rejects.toBeInstanceOf(
      UpstreamUnavailableError,
    );
    await expect(up.forward({ method: 'POST', path: '/w', headers: {} })).rejects.toBeInstanceOf(
      UpstreamUnavailableError,
    );
    expect(calls).toBe(3);
  });

  it('gives up on a hanging upstream at the timeout', async () => {
    const app = new Hono();
    app.get('/hang', () => new Promise<Response>(() => undefined));
    const up = createUpstream({
      name: 'auth',
      baseUrl: await stub(app),
      timeoutMs: 200,
      breakAfter: 10,
      halfOpenAfterMs: 60_000,
    });
    await expect(up.forward({ method: 'GET', path: '/hang', headers: {} })).rejects.toThrow(/timed out/);
  });

  it('reports a refused connection as unavailable', async () => {
    const up = createUpstream({
      name: 'auth',
      baseUrl: 'http://127.0.0.1:9',
      timeoutMs: 500,
      breakAfter: 10,
      halfOpenAfterMs: 60_000,
    });
    await expect(up.client.request('GET', '/x')).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });
});
