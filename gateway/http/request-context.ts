import { randomFillSync } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Principal } from '../../lib/jwt-verifier.js';
import { requestIdOf } from '../../lib/service-app.js';
import { activeTraceparent } from '../../lib/telemetry.js';

/** Per-request values every route and upstream call needs. */
export interface GatewayVariables {
  requestId: string;
  /** W3C traceparent for this hop: the caller's trace id (or a new one) with a fresh span id. */
  traceparent: string;
  clientIp: string;
  principal: Principal;
}

export interface GatewayEnv {
  Variables: GatewayVariables;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Random hex from a pool refilled 4 KiB at a time: one `randomBytes` call per id cost a system
 * call each, two per request (like `crypto.randomUUID`, which pools the same way).
 */
const entropy = Buffer.alloc(4096);
let entropyUsed = entropy.length;
function randomHex(bytes: number): string {
  if (entropyUsed + bytes > entropy.length) {
    randomFillSync(entropy);
    entropyUsed = 0;
  }
  const hex = entropy.toString('hex', entropyUsed, entropyUsed + bytes);
  entropyUsed += bytes;
  return hex;
}

/** Continues the caller's trace when its `traceparent` is well-formed, otherwise starts one. */
function nextTraceparent(incoming: string | undefined): string {
  const match = incoming ? TRACEPARENT.exec(incoming.trim().toLowerCase()) : null;
  const traceId = match?.[1] && !/^0+$/.test(match[1]) ? match[1] : randomHex(16);
  const flags = match?.[3] ?? '01';
  return `00-${traceId}-${randomHex(8)}-${flags}`;
}

/**
 * The address of the direct peer. `app.request()` in tests has no socket; those tests pass
 * `{ incoming: { socket: { remoteAddress } } }` as the env, anything else counts as unknown.
 */
function peerAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/** Strips the IPv4-mapped IPv6 prefix so `::ffff:10.0.0.1` and `10.0.0.1` match the same entry. */
function normalizeIp(ip: string): string {
  const trimmed = ip.trim();
  return trimmed.startsWith('::ffff:') && trimmed.includes('.') ? trimmed.slice(7) : trimmed;
}

/**
 * The client's IP. `X-Forwarded-For` is believed only when the direct peer is a trusted proxy,
 * and then only hop by hop from the right: the first address that is not itself a trusted proxy
 * is the client. A client that sends its own X-Forwarded-For to a gateway it reaches directly
 * changes nothing.
 */
export function clientIp(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trusted: ReadonlySet<string>,
): string {
  const direct = peer ? normalizeIp(peer) : 'unknown';
  if (!trusted.has(direct) || !forwardedFor) return direct;
  const hops = forwardedFor.split(',').map(normalizeIp).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!trusted.has(hop)) return hop;
  }
  return hops[0] ?? direct;
}

/** Sets request id (assigned by the service skeleton), traceparent and client IP on the context. */
export function requestContext(trustedProxies: readonly string[]): MiddlewareHandler<GatewayEnv> {
  const trusted = new Set(trustedProxies.map(normalizeIp));
  return async (c, next) => {
    // createServiceApp has already chosen the (echoed or new) id. Reading it from c.res would
    // build the response object early and push every response off the server's fast path.
    c.set('requestId', requestIdOf(c) ?? 'unknown');
    // Tracing on: the request's own span (lib/telemetry.ts), so upstream spans are its children.
    c.set('traceparent', activeTraceparent() ?? nextTraceparent(c.req.header('traceparent')));
    c.set('clientIp', clientIp(peerAddress(c), c.req.header('x-forwarded-for'), trusted));
    await next();
  };
}

/** Headers that carry the request's identity to an upstream service. */
export function propagationHeaders(c: Context<GatewayEnv>): Record<string, string> {
  return { 'x-request-id': c.get('requestId'), traceparent: c.get('traceparent') };
}
