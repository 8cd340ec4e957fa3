import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentialsToken, createHttpClient, UpstreamUnavailableError } from './http-client.js';

/**
 * A real HTTP server that issues numbered client_credentials tokens and accepts only the newest
 * one, as an upstream does after a signing-key rotation or a revocation.
 */
describe('http client with service credentials', () => {
  let server: Server;
  let base: string;
  let issued = 0;
  let accepted = '';
  const seenIdempotencyKeys: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/token') {
        issued += 1;
        accepted = `token-${issued}`;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: accepted, expires_in: 900 }));
        return;
      }
      seenIdempotencyKeys.push(String(req.headers['idempotency-key']));
      const ok = req.headers.authorization === `Bearer ${accepted}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { hello: 'world' } : { status: 401, code: 'invalid_token', detail: 'no' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('caches the token, and fetches a new one once when the upstream refuses the cached one', async () => {
    const token = clientCredentialsToken({
      tokenUrl: `${base}/token`,
      clientId: 'c',
      clientSecret: 's',
      scope: 'x',
    });
    const client = createHttpClient({ name: 'up', baseUrl: base, token });
    expect((await client.request('GET', '/thing')).ok).toBe(true);
    expect((await client.request('GET', '/thing')).ok).toBe(true);
    expect(issued).toBe(1);

    accepted = 'rotated-away'; // the upstream no longer accepts token-1
    const res = await client.request('POST', '/thing', { idempotencyKey: 'k-1', body: {} });
    expect(res.ok).toBe(true);
    expect(issued).toBe(2);
    // The retry carried the same idempotency key: the upstream can never apply it twice.
    expect(seenIdempotencyKeys.slice(-2)).toEqual(['k-1', 'k-1']);
  });

  it('reports a refused request as a problem, not as an outage', async () => {
    const client = createHttpClient({ name: 'up', baseUrl: base, token: async () => 'never-valid' });
    const res = await client.request('GET', '/thing');
    expect(res.ok).toBe(false);
    expect(!res.ok && res.problem.code).toBe('invalid_token');
  });

  it('turns a refused connection into UpstreamUnavailableError', async () => {
    const client = createHttpClient({ name: 'gone', baseUrl: 'http://127.0.0.1:9', timeoutMs: 2000 });
    await expect(client.request('GET', '/x')).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });
});

describe('http client timeouts', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      // /silent never answers; /stalled sends its headers and half a body, then nothing.
      if (req.url === '/stalled') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"partial":');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives up on an upstream that does not answer, and on a body that stops coming', async () => {
    const client = createHttpClient({ name: 'slow', baseUrl: base, timeoutMs: 300 });
    for (const path of ['/silent', '/stalled']) {
      const failed = client.request('GET', path);
      await expect(failed, path).rejects.toBeInstanceOf(UpstreamUnavailableError);
      await expect(failed, path).rejects.toThrow(`slow: GET ${path} failed: timed out`);
    }
  });

  it("stops when the caller's signal aborts", async () => {
    const client = createHttpClient({ name: 'slow', baseUrl: base, timeoutMs: 60_000 });
    const controller = new AbortController();
    const failed = client.request('GET', '/silent', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(failed).rejects.toThrow('slow: GET /silent failed: aborted');
  });
});
