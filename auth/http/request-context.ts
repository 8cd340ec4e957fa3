import { isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { RequestContext } from '../audit/audit.service.js';
import { parseTrustedProxies } from './trusted-proxies.js';

/**
 * Resolves the client address: the socket peer, or — when the peer is a trusted proxy (the
 * gateway) — the last X-Forwarded-For hop, the one that proxy appended. Lockout and rate-limit
 * keys use this address, so behind the gateway each client has its own counters and one
 * attacker cannot lock everyone out; a client that reaches AuthService directly cannot choose
 * its address with the header. Requests without a socket only come from in-process tests
 * (`app.request()`), which stand in for a trusted proxy.
 */
export function createRequestContext(trustedProxies: readonly string[]) {
  const { list: trusted, invalid } = parseTrustedProxies(trustedProxies);
  if (invalid.length > 0)
    throw new Error(`AUTH_TRUSTED_PROXIES: not an IP address or CIDR range: ${invalid.join(', ')}`);
  const isTrusted = (ip: string) => {
    const family = isIP(ip);
    return family !== 0 && trusted.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  };
  return (c: Context): RequestContext => {
    let peer: string | undefined;
    try {
      peer = getConnInfo(c).remote.address;
    } catch {
      peer = undefined;
    }
    let ip = peer ? normaliseIp(peer) : undefined;
    if (!ip || isTrusted(ip)) {
      const forwarded = (c.req.header('x-forwarded-for') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .at(-1);
      if (forwarded && forwarded.length <= 64 && isIP(normaliseIp(forwarded)) !== 0)
        ip = normaliseIp(forwarded);
    }
    return { ip: ip ?? 'unknown', userAgent: c.req.header('user-agent')?.slice(0, 256) ?? null };
  };
}

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
