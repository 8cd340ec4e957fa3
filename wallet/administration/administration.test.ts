/* eslint-disable @typescript-eslint/no-unsafe-return -- response bodies and documents are untyped JSON in tests */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';
import { listStatusChanges } from './administration.repository.js';

let h: WalletHarness;

beforeAll(async () => {
  // A private database: this file's migrations (0025) must not reach the shared test database
  // before the lower-numbered ones of other work in progress.
  h = await createWalletHarness({ isolated: 'administration' });
});

afterAll(async () => {
  await h?.close();
});

const by = (reason: string) => ({ reason, requested_by: 'admin-7' });

function act(
  walletId: string,
  action: 'freeze' | 'unfreeze' | 'close',
  reason = 'ticket 42',
  key = randomUUID(),
) {
  return h.call('POST', `/internal/wallets/${walletId}/${action}`, { body: by(reason), key });
}

async function auditDocuments(walletId: string) {
  await h.relay.drainAll();
  return h.mongo
    .collection('audit_trace')
    .find({ kind: 'wallet_status_change', wallet_id: walletId })
    .sort({ recorded_at: 1 })
    .toArray();
}

describe('wallet administration', () => {
  it('freezes and unfreezes with the operator and reason on record, once per change', async () => {
    const w = await h.wallet('USD', 500n);
    const frozen = await act(w, 'freeze', 'suspected account takeover');
    expect(frozen.status).toBe(200);
    expect(frozen.body).toMatchObject({ id: w, status: 'frozen', status_changed: true });
    // Asking again changes and records nothing.
    const again = await act(w, 'freeze', 'double click');
    expect(again.body).toMatchObject({ status: 'frozen', status_changed: false });
    const thawed = await act(w, 'unfreeze', 'customer verified by phone');
    expect(thawed.body).toMatchObject({ status: 'active', status_changed: true });

    const changes = await listStatusChanges(h.db, w);
    expect(changes.map((c) => [c.action, c.from_status, c.to_status, c.reason, c.requested_by])).toEqual([
      ['freeze', 'active', 'frozen', 'suspected account takeover', 'admin-7'],
      ['unfreeze', 'frozen', 'active', 'customer verified by phone', 'admin-7'],
    ]);
    const docs = await auditDocuments(w);
    expect(docs.map((d) => [d.action, d.reason, d.requested_by])).toEqual([
      ['freeze', 'suspected account takeover', 'admin-7'],
      ['unfreeze', 'customer verified by phone', 'admin-7'],
    ]);
  });

  it('is idempotent per key: a replay answers the first outcome and records nothing more', async () => {
    const w = await h.wallet('USD');
    const key = randomUUID();
    const first = await act(w, 'freeze', 'ticket 1', key);
    const replay = await act(w, 'freeze', 'ticket 1', key);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    const mismatch = await act(w, 'freeze', 'another reason', key);
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.code).toBe('idempotency_key_mismatch');
    expect(await listStatusChanges(h.db, w)).toHaveLength(1);
  });

  it('requires a reason and the operator, and refuses unknown wallets', async () => {
    const w = await h.wallet('USD');
    for (const body of [{ requested_by: 'admin' }, { reason: ' ', requested_by: 'admin' }, { reason: 'x' }]) {
      const res = await h.call('POST', `/internal/wallets/${w}/freeze`, { body, key: randomUUID() });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    expect((await act(randomUUID(), 'freeze')).status).toBe(404);
    expect((await act('not-a-uuid', 'close')).status).toBe(404);
    const writer = await h.issuer.serviceToken('wallet:read wallet:write');
    const refused = await h.call('POST', `/internal/wallets/${w}/close`, {
      body: by('x'),
      key: randomUUID(),
      token: writer,
    });
    expect(refused.status).toBe(403);
    expect((await h.balance(w)).posted).toBe('0');
    expect((await h.call('GET', `/internal/wallets/${w}`)).body.status).toBe('active');
  });

  it('closes only an empty wallet without an active hold; closed is final', async () => {
    const funded = await h.wallet('USD', 100n);
    const notEmpty = await act(funded, 'close');
    expect(notEmpty.status).toBe(409);
    expect(notEmpty.body.code).toBe('wallet_not_empty');

    // Zero posted balance, but money held for an incoming reversal or a hold: still not empty.
    const held = await h.wallet('USD', 100n);
    const hold = await h.hold(held, '100');
    expect(hold.status).toBe(201);
    expect((await act(held, 'close')).body.code).toBe('wallet_not_empty');

    const empty = await h.wallet('USD');
    await act(empty, 'freeze');
    // A frozen wallet can be closed (the usual end of a fraud case).
    const closed = await act(empty, 'close', 'customer left');
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ status: 'closed', status_changed: true });
    expect((await act(empty, 'close')).body).toMatchObject({ status: 'closed', status_changed: false });
    for (const action of ['freeze', 'unfreeze'] as const) {
      const res = await act(empty, action);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('wallet_closed');
    }
    // The database itself refuses to reopen it.
    await expect(sql`update wallets set status = 'active' where id = ${empty}`.execute(h.db)).rejects.toThrow(
      /closed/,
    );
    // A closed wallet receives nothing.
    const deposit = await h.call('POST', `/internal/wallets/${empty}/deposits`, {
      body: { amount: '5', currency: 'USD', reference: 'late' },
      key: randomUUID(),
    });
    expect(deposit.status).toBe(409);
    expect(deposit.body.code).toBe('wallet_closed');
    expect(await listStatusChanges(h.db, empty)).toHaveLength(2);
  });

  it('keeps the record of changes append-only', async () => {
    const w = await h.wallet('USD');
    await act(w, 'freeze');
    await expect(
      sql`update wallet_status_changes set reason = 'nothing happened' where wallet_id = ${w}`.execute(h.db),
    ).rejects.toThrow(/append-only/);
  });
});
