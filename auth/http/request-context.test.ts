import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuthEvents } from '../audit/audit.repository.js';
import { createHarness, randomIp, testConfig, type Harness } from '../testing/harness.js';

/**
 * Lockout keys use the client address: the forwarded one when the request comes through a
 * trusted proxy (the gateway), the socket peer otherwise. AuthService runs on a real port and
 * requests leave from a chosen loopback address, so the socket peer is real too.
 */

interface Served {
  h: Harness;
  server: ServerType;
  port: number;
}

async function start(trustedProxies: string): Promise<Served> {
  const h = await createHarness({ overrides: { AUTH_TRUSTED_PROXIES: trustedProxies } });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return { h, server, port: (server.address() as AddressInfo).port };
}

async function stop({ h, server }: Served) {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await h.close();
}

/** A loopback address of its own per test, so the socket peer's counters are never shared. */
function loopbackPeer(): string {
  const b = randomBytes(3);
  return `127.${1 + (b[0]! % 250)}.${b[1]}.${b[2]}`;
}

/** POSTs a login from `from` (the socket's source address), optionally with X-Forwarded-For. */
function login(
  port: number,
  body: { email: string; password: string },
  from: string,
  forwardedFor?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/auth/login',
        method: 'POST',
        localAddress: from,
        headers: {
          'content-type': 'application/json',
          ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('behind a trusted proxy (AUTH_TRUSTED_PROXIES=127.0.0.0/8, a CIDR range)', () => {
  let s: Served;
  beforeAll(async () => {
    s = await start('127.0.0.0/8');
  });
  afterAll(async () => {
    await stop(s);
  });

  it('one attacker behind the gateway locks out only their own address, not everyone', async () => {
    const victim = await s.h.createUser();
    const gateway = loopbackPeer();
    const attacker = randomIp();
    for (let i = 0; i < 10; i++) {
      const res = await login(s.port, { email: victim.email, password: `guess-${i}-pw` }, gateway, attacker);
      expect(res.status).toBe(401);
    }
    const locked = await login(s.port, { email: victim.email, password: victim.password }, gateway, attacker);
    expect(locked.status).toBe(429);
    // The victim, through the same gateway from their own address, signs in.
    const own = await login(s.port, { email: victim.email, password: victim.password }, gateway, randomIp());
    expect(own.status).toBe(200);
    const [lockout] = await listAuthEvents(s.h.db, { subject: victim.id, event: 'lockout' });
    expect(lockout?.ip).toBe(attacker);
  });
});

describe('from a peer that is not a trusted proxy', () => {
  let s: Served;
  beforeAll(async () => {
    s = await start('10.0.0.0/8');
  });
  afterAll(async () => {
    await stop(s);
  });

  it('keys the lockout by the socket address: a forged X-Forwarded-For does not dodge it', async () => {
    const victim = await s.h.createUser();
    const direct = loopbackPeer();
    for (let i = 0; i < 10; i++) {
      const res = await login(s.port, { email: victim.email, password: `guess-${i}-pw` }, direct, randomIp());
      expect(res.status).toBe(401);
    }
    const again = await login(s.port, { email: victim.email, password: victim.password }, direct, randomIp());
    expect(again.status).toBe(429);
    const [lockout] = await listAuthEvents(s.h.db, { subject: victim.id, event: 'lockout' });
    expect(lockout?.ip).toBe(direct);
  });
});

describe('AUTH_TRUSTED_PROXIES', () => {
  it('accepts addresses and CIDR ranges and refuses anything else at start, naming the variable', () => {
    expect(
      testConfig({ AUTH_TRUSTED_PROXIES: '10.0.0.5, 172.16.0.0/12,fd00::/8,::1' }).AUTH_TRUSTED_PROXIES,
    ).toEqual(['10.0.0.5', '172.16.0.0/12', 'fd00::/8', '::1']);
    for (const bad of ['gateway', '10.0.0.0/33', '10.0.0.0/8/1', '10.0.0.0/x'])
      expect(() => testConfig({ AUTH_TRUSTED_PROXIES: bad })).toThrow(/AUTH_TRUSTED_PROXIES/);
  });
});
