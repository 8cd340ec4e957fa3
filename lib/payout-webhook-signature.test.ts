import { describe, expect, it } from 'vitest';
import { signPayoutWebhook, verifyPayoutWebhook } from './payout-webhook-signature.js';

const SECRET = 'test-payout-webhook-secret-0123456789abcdef';
const body = '{"reference":"wd-1","status":"settled"}';
const now = 1_800_000_000;

describe('payout webhook signature', () => {
  it('verifies its own signature within the tolerance', () => {
    expect(verifyPayoutWebhook(signPayoutWebhook(body, SECRET, now), body, SECRET, now + 299)).toMatchObject({
      ok: true,
      timestamp: now,
    });
  });

  it('refuses another body, another secret, a stale or future timestamp, and malformed headers', () => {
    const header = signPayoutWebhook(body, SECRET, now);
    expect(verifyPayoutWebhook(header, body.replace('settled', 'rejected'), SECRET, now)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyPayoutWebhook(header, body, `${SECRET}x`, now).ok).toBe(false);
    expect(verifyPayoutWebhook(header, body, SECRET, now + 301)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyPayoutWebhook(header, body, SECRET, now - 301)).toEqual({ ok: false, reason: 'stale' });
    // A forger who moves the timestamp forward invalidates the MAC.
    const moved = header.replace(`t=${now}`, `t=${now + 100}`);
    expect(verifyPayoutWebhook(moved, body, SECRET, now + 100)).toEqual({ ok: false, reason: 'mismatch' });
    for (const bad of [undefined, '', 'v1=abc', `t=${now}`, `t=x,v1=${'0'.repeat(64)}`]) {
      expect(verifyPayoutWebhook(bad, body, SECRET, now)).toEqual({ ok: false, reason: 'malformed' });
    }
  });
});
