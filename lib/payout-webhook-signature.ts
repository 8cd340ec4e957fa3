/**
 * The payout provider's webhook signature, shared by the provider (payout-sim signs) and the
 * gateway (verifies): `X-Payout-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`,
 * the scheme of the large card and payout processors. The timestamp inside the MAC bounds how
 * long a captured request stays usable; the gateway also refuses a signature it has seen.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const PAYOUT_SIGNATURE_HEADER = 'x-payout-signature';
/** A signature older (or further in the future) than this is refused. */
export const PAYOUT_SIGNATURE_TOLERANCE_SECONDS = 300;

function mac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The header value for `body` sent at `nowSeconds`. */
export function signPayoutWebhook(body: string, secret: string, nowSeconds: number): string {
  const t = Math.floor(nowSeconds);
  return `t=${t},v1=${mac(secret, t, body)}`;
}

export type PayoutSignatureCheck =
  | { ok: true; timestamp: number; signature: string }
  | { ok: false; reason: 'malformed' | 'stale' | 'mismatch' };

/** Checks a header against the raw body: well formed, within the tolerance, and a matching MAC. */
export function verifyPayoutWebhook(
  header: string | undefined,
  body: string,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = PAYOUT_SIGNATURE_TOLERANCE_SECONDS,
): PayoutSignatureCheck {
  const parts = new Map<string, string[]>();
  for (const item of (header ?? '').split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const k = item.slice(0, eq).trim();
    parts.set(k, [...(parts.get(k) ?? []), item.slice(eq + 1).trim()]);
  }
  const t = parts.get('t')?.[0];
  const candidates = (parts.get('v1') ?? []).filter((v) => /^[0-9a-f]{64}$/.test(v));
  if (t === undefined || !/^[0-9]{1,12}$/.test(t) || candidates.length === 0)
    return { ok: false, reason: 'malformed' };
  const timestamp = Number(t);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(mac(secret, timestamp, body), 'hex');
  // Several v1 values are allowed (a provider rotating its secret signs with both).
  const match = candidates.find((v) => timingSafeEqual(Buffer.from(v, 'hex'), expected));
  return match === undefined ? { ok: false, reason: 'mismatch' } : { ok: true, timestamp, signature: match };
}
