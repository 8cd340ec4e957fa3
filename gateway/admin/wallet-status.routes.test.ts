/**
 * The operator's freeze / unfreeze / close through the gateway, against the real WalletService
 * (its app over HTTP on a private database): access, validation, the recorded operator and the
 * refusals a client must handle.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The gateway first: it extends zod with .openapi() before the wallet's modules build schemas.
import { createHarness, type Harness } from '../testing/harness.js';
import { serveStub } from '../testing/stub-server.js';
import { listStatusChanges } from '../../wallet/administration/administration.repository.js';
import { createWalletHarness, type WalletHarness } from '../../wallet/testing/wallet-harness.js';

let wallet: WalletHarness;
let walletServer: Awaited<ReturnType<typeof serveStub>>;
let h: Harness;

beforeAll(async () => {
  wallet = await createWalletHarness({ isolated: 'gateway_wallet_status' });
  walletServer = await serveStub(wallet.app as unknown as Parameters<typeof serveStub>[0]);
  // The gateway presents a wallet:admin service token the real WalletService accepts.
  h = await createHarness({ env: { WALLET_URL: walletServer.url }, serviceToken: wallet.token });
});

afterAll(async () => {
  await h?.close();
  await walletServer?.close();
  await wallet?.close();
});

function post(
  walletId: string,
  action: string,
  token: { authorization: string },
  json: unknown,
  key?: string,
) {
  return h.request(`/v1/admin/wallets/${walletId}/${action}`, {
    method: 'POST',
    headers: { ...token, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    json,
  });
}

describe('POST /v1/admin/wallets/:wallet_id/freeze | unfreeze | close', () => {
  it('freezes and unfreezes for an admin, recording who asked and why', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const w = await wallet.wallet('USD', 700n);
    const frozen = await post(w, 'freeze', admin.auth, { reason: 'case 4711' });
    expect(frozen.status).toBe(200);
    expect(await frozen.json()).toMatchObject({
      id: w,
      status: 'frozen',
      status_changed: true,
      balance: { posted: '700', available: '700' },
    });
    const thawed = await post(w, 'unfreeze', admin.auth, { reason: 'case 4711 closed' });
    expect(await thawed.json()).toMatchObject({ status: 'active', status_changed: true });
    const changes = await listStatusChanges(wallet.db, w);
    expect(changes.map((c) => [c.action, c.reason, c.requested_by])).toEqual([
      ['freeze', 'case 4711', admin.id],
      ['unfreeze', 'case 4711 closed', admin.id],
    ]);
  });

  it('refuses users without the admin scope and requests without a reason, changing nothing', async () => {
    const user = await h.user();
    const admin = await h.user({ roles: ['admin'] });
    const w = await wallet.wallet('USD');
    const forbidden = await post(w, 'freeze', user.auth, { reason: 'mine now' });
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json()).code).toBe('insufficient_scope');
    for (const json of [{}, { reason: '' }, { reason: 'x', amount: '1' }]) {
      const res = await post(w, 'close', admin.auth, json);
      expect(res.status).toBe(400);
      expect((await res.json()).code).toBe('validation_failed');
    }
    expect(await listStatusChanges(wallet.db, w)).toEqual([]);
  });

  it('closes an empty wallet for good; a wallet with money is not_empty; unknown is 404', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const funded = await wallet.wallet('USD', 1n);
    const notEmpty = await post(funded, 'close', admin.auth, { reason: 'customer left' });
    expect(notEmpty.status).toBe(409);
    expect((await notEmpty.json()).code).toBe('wallet_not_empty');

    const empty = await wallet.wallet('USD');
    const closed = await post(empty, 'close', admin.auth, { reason: 'customer left' });
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({ status: 'closed', status_changed: true });
    const reopen = await post(empty, 'unfreeze', admin.auth, { reason: 'changed my mind' });
    expect(reopen.status).toBe(409);
    expect((await reopen.json()).code).toBe('wallet_closed');

    const missing = await post(randomUUID(), 'freeze', admin.auth, { reason: 'x' });
    expect(missing.status).toBe(404);
    expect((await missing.json()).code).toBe('wallet_not_found');
  });

  it('answers the first outcome for a repeated Idempotency-Key, and refuses another body under it', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const w = await wallet.wallet('USD');
    const key = randomUUID();
    const first = await post(w, 'freeze', admin.auth, { reason: 'case 1' }, key);
    await post(w, 'unfreeze', admin.auth, { reason: 'case 1 done' });
    const replay = await post(w, 'freeze', admin.auth, { reason: 'case 1' }, key);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual(await first.json());
    const mismatch = await post(w, 'freeze', admin.auth, { reason: 'case 2' }, key);
    expect(mismatch.status).toBe(422);
    expect((await mismatch.json()).code).toBe('idempotency_key_mismatch');
    // The replay did not freeze the wallet again.
    expect((await wallet.call('GET', `/internal/wallets/${w}`)).body.status).toBe('active');
  });
});
