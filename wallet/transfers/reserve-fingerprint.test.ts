import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestFingerprint } from '../idempotency/idempotency.service.js';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';
import { reserveTransfer } from './transfers.repository.js';

/**
 * The reserve's Idempotency-Key fingerprint, version 2 (issue 11, item 1): the user's limits are
 * not part of it, so a reserve re-sent with other limits (a workflow reset after a limits change)
 * replays; a key stored by version 1 (limits included) still replays the request it was made for.
 */
let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

async function reserveRequest() {
  const from = await h.wallet('USD', 10_000n);
  const owner = (await h.call('GET', `/internal/wallets/${from}`)).body as { user_id: string };
  const path = `/internal/transfers/${randomUUID()}/reserve`;
  const body = {
    user_id: owner.user_id,
    from_wallet_id: from,
    to_wallet_id: await h.wallet('USD'),
    amount: '250',
    currency: 'USD',
    limits: { per_transfer: '1000', daily: '5000' },
    hold_ttl_seconds: 900,
  };
  return { from, path, body };
}

describe('the reserve fingerprint', () => {
  it('leaves the limits out: the same transfer with new limits replays its first answer', async () => {
    const { from, path, body } = await reserveRequest();
    const key = randomUUID();
    const first = await h.call('POST', path, { body, key });
    expect(first.status).toBe(201);
    const raised = await h.call('POST', path, {
      body: { ...body, limits: { per_transfer: '2000', daily: '9000' } },
      key,
    });
    expect(raised.status).toBe(201);
    expect(raised.headers.get('idempotent-replayed')).toBe('true');
    expect(raised.body).toEqual(first.body);
    // Tighter limits that would refuse it: still the stored answer, not a new decision.
    const lowered = await h.call('POST', path, {
      body: { ...body, limits: { per_transfer: '10', daily: '10' } },
      key,
    });
    expect(lowered.status).toBe(201);
    expect(lowered.body).toEqual(first.body);
    expect((await h.balance(from)).pending).toBe('250');
    // The money fields still count.
    const other = await h.call('POST', path, { body: { ...body, amount: '251' }, key });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_mismatch');
  });

  it('a key stored by version 1 (limits included) replays its own request and refuses others', async () => {
    const { from, path, body } = await reserveRequest();
    const key = randomUUID();
    // What the previous release stored: version 1 over the whole validated body.
    const stored = await reserveTransfer(
      h.db,
      { scope: 'client:orchestrator', key, fingerprint: requestFingerprint('POST', path, body) },
      {
        transferId: path.split('/')[3]!,
        userId: body.user_id,
        fromWalletId: from,
        toWalletId: body.to_wallet_id,
        amount: 250n,
        currency: 'USD',
        perTransferLimit: 1000n,
        dailyLimit: 5000n,
        holdTtlSeconds: 900,
      },
    );
    expect(stored.status_code).toBe(201);
    const again = await h.call('POST', path, { body, key });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(stored.response);
    // Version 1 covered the limits: a re-send with other limits does not match that key.
    const raised = await h.call('POST', path, {
      body: { ...body, limits: { per_transfer: '2000', daily: '9000' } },
      key,
    });
    expect(raised.status).toBe(422);
    expect(raised.body.code).toBe('idempotency_key_mismatch');
    expect((await h.balance(from)).pending).toBe('250');
  });

  it('version 2 fingerprints say their version; version 1 stays the bare digest', () => {
    expect(requestFingerprint('POST', '/p', { a: 1 })).toMatch(/^[0-9a-f]{64}$/);
    expect(requestFingerprint('POST', '/p', { a: 1 }, 2)).toMatch(/^v2:[0-9a-f]{64}$/);
  });
});
