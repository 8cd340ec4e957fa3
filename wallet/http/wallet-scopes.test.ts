import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

describe('WalletService accepts service tokens only (issue 10, item 11)', () => {
  it('a user token with every wallet scope is refused on reads, movements and transfers, and nothing changes', async () => {
    const a = await h.wallet('USD', 100n);
    const b = await h.wallet('USD');
    const owner = String((await h.call('GET', `/internal/wallets/${a}`)).body.user_id);
    // The attacker's own user token, as AuthService would sign it, claiming every wallet scope.
    const userToken = await h.issuer.mint({
      sub: owner,
      scope: 'openid wallet:read wallet:write wallet:admin',
      client_id: 'velora-web',
      roles: ['admin'],
    });
    const attempts = [
      h.call('GET', `/internal/wallets/${a}`, { token: userToken }),
      h.call('GET', `/internal/wallets?user_id=${owner}`, { token: userToken }),
      h.call('POST', `/internal/wallets/${a}/deposits`, {
        token: userToken,
        body: { amount: '1000000', currency: 'USD', reference: 'mint' },
        key: randomUUID(),
      }),
      h.call('POST', `/internal/wallets/${a}/withdrawals`, {
        token: userToken,
        body: { amount: '100', currency: 'USD', reference: 'drain' },
        key: randomUUID(),
      }),
      h.call('POST', `/internal/transfers/${randomUUID()}/reserve`, {
        token: userToken,
        body: {
          user_id: owner,
          from_wallet_id: a,
          to_wallet_id: b,
          amount: '100',
          currency: 'USD',
          limits: { per_transfer: '1000', daily: '1000' },
          hold_ttl_seconds: 60,
        },
        key: randomUUID(),
      }),
      h.call('POST', `/internal/wallets/${a}/overdraft`, {
        token: userToken,
        body: { limit: '1000000' },
        key: randomUUID(),
      }),
      h.call('GET', '/internal/reconciliation', { token: userToken }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('service_token_required');
    }
    expect(await h.balance(a)).toEqual({ posted: '100', pending: '0', available: '100' });
    expect(await h.balance(b)).toEqual({ posted: '0', pending: '0', available: '0' });
    // The same call with a service token passes: the refusal is about the kind of token.
    const service = await h.call('GET', `/internal/wallets/${a}`);
    expect(service.status).toBe(200);
  });

  it('a token whose subject merely looks like a client but names another client_id is a user token', async () => {
    const forged = await h.issuer.mint({
      sub: 'client:orchestrator',
      scope: 'wallet:read wallet:write',
      client_id: 'velora-web',
    });
    const res = await h.call('GET', `/internal/wallets/${randomUUID()}`, { token: forged });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('service_token_required');
  });
});
