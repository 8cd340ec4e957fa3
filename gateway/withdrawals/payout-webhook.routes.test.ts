import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPayoutWebhook } from '../../lib/payout-webhook-signature.js';
import { createHarness, type Harness } from '../testing/harness.js';

const SECRET = 'test-payout-webhook-secret-0123456789abcdef';
let h: Harness;
beforeAll(async () => {
  h = await createHarness({ temporal: 'no-worker', env: { PAYOUT_WEBHOOK_SECRET: SECRET } });
});
afterAll(async () => {
  await h.close();
});

const event = () =>
  JSON.stringify({
    event_id: `evt_${randomUUID()}`,
    type: 'payout.settled',
    reference: randomUUID(),
    provider_payout_id: `po_${randomUUID()}`,
    status: 'settled',
    amount: '2500',
    currency: 'EUR',
    occurred_at: new Date().toISOString(),
  });

const post = (body: string, signature: string | undefined) =>
  h.request('/v1/webhooks/payouts', {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      ...(signature ? { 'x-payout-signature': signature } : {}),
    },
  });

describe('POST /v1/webhooks/payouts', () => {
  it('accepts a correctly signed event without a token (204), and refuses the same signature again', async () => {
    const body = event();
    const signature = signPayoutWebhook(body, SECRET, Date.now() / 1000);
    expect((await post(body, signature)).status).toBe(204);
    const replay = await post(body, signature);
    expect(replay.status).toBe(401);
    expect((await replay.json()).code).toBe('replayed_signature');
    // The provider's own duplicate is signed anew: accepted (the workflow drops the repeat).
    expect((await post(body, signPayoutWebhook(body, SECRET, Date.now() / 1000 + 1))).status).toBe(204);
  });

  it('refuses a forged signature, a changed body, a missing header and a stale timestamp with 401', async () => {
    const body = event();
    const forged = await post(
      body,
      signPayoutWebhook(body, 'another-secret-0123456789abcdefghij', Date.now() / 1000),
    );
    expect(forged.status).toBe(401);
    expect((await forged.json()).code).toBe('invalid_signature');
    const signed = signPayoutWebhook(body, SECRET, Date.now() / 1000);
    expect((await post(body.replace('settled', 'rejected'), signed)).status).toBe(401);
    expect((await post(body, undefined)).status).toBe(401);
    const stale = await post(body, signPayoutWebhook(body, SECRET, Date.now() / 1000 - 301));
    expect(stale.status).toBe(401);
    expect((await stale.json()).code).toBe('stale_signature');
  });
});
