import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { RequestContext } from '../audit/audit.service.js';

/**
 * Resolves the client address: the socket peer, or — when the peer is a trusted proxy (the
 * gateway) — the last X-Forwarded-For hop that proxy appended. Requests without a socket only
 * come from in-process tests (`app.request()`), which stand in for a trusted proxy.
 */
export function createRequestContext(trustedProxies: readonly string[]) {
  const trusted = new Set(trustedProxies.map(normaliseIp));
  return (c: Context): RequestContext => {
    let peer: string | undefined;
    try {
      peer = getConnInfo(c).remote.address;
    } catch {
      peer = undefined;
    }
    let ip = peer ? normaliseIp(peer) : undefined;
    if (!peer || (ip && trusted.has(ip))) {
      const hops = (c.req.header('x-forwarded-for') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const forwarded = hops.at(-1);
      if (forwarded && forwarded.length <= 64) ip = normaliseIp(forwarded);
    }
    return { ip: ip ?? 'unknown', userAgent: c.req.header('user-agent')?.slice(0, 256) ?? null };
  };
}

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
