/* eslint-disable @typescript-eslint/no-unsafe-return -- response bodies and documents are untyped JSON in tests */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

let h: WalletHarness;

beforeAll(async () => {
  h = await createWalletHarness({ isolated: 'reversals' });
});

afterAll(async () => {
  await h?.close();
});

/** A completed transfer of `amount` from a wallet funded with 10,000 to a fresh one. */
async function completedTransfer(amount: string) {
  const from = await h.wallet('USD', 10_000n);
  const to = await h.wallet('USD');
  const hold = await h.hold(from, amount, { to });
  expect(hold.status).toBe(201);
  const capture = await h.call('POST', `/internal/holds/${hold.body.id}/capture`, {
    body: { to_wallet_id: to },
    key: randomUUID(),
  });
  expect(capture.status).toBe(200);
  return { from, to, transferId: hold.transferId, captureTx: String(capture.body.transaction_id) };
}

const step = (transferId: string, name: 'hold' | 'capture' | 'release', body?: unknown) =>
  h.call('POST', `/internal/transfers/${transferId}/reversal/${name}`, { body, key: randomUUID() });

const holdBody = (allowPartial = false) => ({
  allow_partial: allowPartial,
  reason: 'paid the wrong person (ticket 77)',
  requested_by: 'admin-1',
  hold_ttl_seconds: 600,
});

describe('transfer reversal', () => {
  it('moves the whole amount back with a reversal linked to the transfer, in both histories', async () => {
    const t = await completedTransfer('2500');
    const held = await step(t.transferId, 'hold', holdBody());
    expect(held.status).toBe(201);
    expect(held.body.reversal).toMatchObject({ status: 'held', amount: '2500', partial: false });
    // The destination cannot spend the amount while the reversal runs.
    expect(await h.balance(t.to)).toEqual({ posted: '2500', pending: '2500', available: '0' });

    const done = await step(t.transferId, 'capture');
    expect(done.status).toBe(200);
    expect(done.body.reversal).toMatchObject({
      status: 'completed',
      original_transaction_id: t.captureTx,
      requested_by: 'admin-1',
    });
    expect(await h.balance(t.from)).toEqual({ posted: '10000', pending: '0', available: '10000' });
    expect(await h.balance(t.to)).toEqual({ posted: '0', pending: '0', available: '0' });

    const tx = await h.db
      .selectFrom('journal_transactions')
      .selectAll()
      .where('id', '=', done.body.reversal.transaction_id)
      .executeTakeFirstOrThrow();
    expect(tx).toMatchObject({ kind: 'reversal', reverses_id: t.captureTx, transfer_id: t.transferId });

    await h.relay.drainAll();
    for (const [wallet, direction] of [
      [t.from, 'credit'],
      [t.to, 'debit'],
    ] as const) {
      const history = await h.call('GET', `/internal/wallets/${wallet}/transactions`);
      expect(history.body.items[0]).toMatchObject({ kind: 'reversal', direction, amount: '2500' });
    }
    const audit = await h.mongo
      .collection('audit_trace')
      .find({ kind: 'transfer_reversal', transfer_id: t.transferId })
      .toArray();
    expect(audit.map((d) => [d.event, d.requested_by, d.reason])).toEqual(
      expect.arrayContaining([
        ['held', 'admin-1', 'paid the wrong person (ticket 77)'],
        ['completed', 'admin-1', 'paid the wrong person (ticket 77)'],
      ]),
    );
  });

  it('refuses when the destination no longer holds the amount, unless a partial reversal is asked for', async () => {
    const t = await completedTransfer('3000');
    // The payee spent 2,000 of it.
    const spent = await h.hold(t.to, '2000');
    await h.call('POST', `/internal/holds/${spent.body.id}/capture`, {
      body: { to_wallet_id: await h.wallet('USD') },
      key: randomUUID(),
    });
    const refused = await step(t.transferId, 'hold', holdBody(false));
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('reversal_insufficient_funds');
    expect(await h.balance(t.to)).toEqual({ posted: '1000', pending: '0', available: '1000' });

    const partial = await step(t.transferId, 'hold', holdBody(true));
    expect(partial.body.reversal).toMatchObject({ amount: '1000', transfer_amount: '3000', partial: true });
    await step(t.transferId, 'capture');
    expect(await h.balance(t.to)).toEqual({ posted: '0', pending: '0', available: '0' });
    expect((await h.balance(t.from)).posted).toBe('8000');
  });

  it('is one per transfer, and a released reversal gives the hold back and never captures', async () => {
    const t = await completedTransfer('500');
    const first = await step(t.transferId, 'hold', holdBody());
    expect(first.status).toBe(201);
    const second = await step(t.transferId, 'hold', holdBody());
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('transfer_already_reversed');
    const released = await step(t.transferId, 'release');
    expect(released.body).toMatchObject({ released: true, reversal: { status: 'released' } });
    expect(await h.balance(t.to)).toEqual({ posted: '500', pending: '0', available: '500' });
    expect((await step(t.transferId, 'capture')).body.code).toBe('reversal_released');
    const hold = await h.db
      .selectFrom('holds')
      .select('status')
      .where('id', '=', first.body.reversal.hold_id)
      .executeTakeFirstOrThrow();
    expect(hold.status).toBe('released');
    expect(await h.balance(t.to)).toEqual({ posted: '500', pending: '0', available: '500' });
  });

  it('takes a reversal that gave up again with a new hold, and moves the money back once', async () => {
    const t = await completedTransfer('600');
    const first = await step(t.transferId, 'hold', holdBody());
    await step(t.transferId, 'release');
    const again = await step(t.transferId, 'hold', { ...holdBody(), reason: 'asked again (ticket 78)' });
    expect(again.status).toBe(201);
    expect(again.body.reversal).toMatchObject({
      status: 'held',
      amount: '600',
      reason: 'asked again (ticket 78)',
      original_transaction_id: first.body.reversal.original_transaction_id,
    });
    expect(again.body.reversal.hold_id).not.toBe(first.body.reversal.hold_id);
    expect(await h.balance(t.to)).toEqual({ posted: '600', pending: '600', available: '0' });
    expect((await step(t.transferId, 'capture')).body.reversal.status).toBe('completed');
    expect(await h.balance(t.to)).toEqual({ posted: '0', pending: '0', available: '0' });
    expect((await h.balance(t.from)).posted).toBe('10000');
    // Completed: never again, and never released.
    expect((await step(t.transferId, 'hold', holdBody())).body.code).toBe('transfer_already_reversed');
    expect((await step(t.transferId, 'release')).body.code).toBe('reversal_already_captured');
    await h.relay.drainAll();
    const audit = await h.mongo
      .collection('audit_trace')
      .find({ kind: 'transfer_reversal', transfer_id: t.transferId })
      .toArray();
    expect(audit.map((d) => [d.event, d.hold_id])).toEqual(
      expect.arrayContaining([
        ['held', first.body.reversal.hold_id],
        ['released', first.body.reversal.hold_id],
        ['held', again.body.reversal.hold_id],
        ['completed', again.body.reversal.hold_id],
      ]),
    );
    expect(audit).toHaveLength(4);
  });

  it('reverses out of a frozen wallet, and only captured transfers', async () => {
    const t = await completedTransfer('700');
    const freeze = await h.call('POST', `/internal/wallets/${t.to}/freeze`, {
      body: { reason: 'fraud case', requested_by: 'admin-1' },
      key: randomUUID(),
    });
    expect(freeze.body.status).toBe('frozen');
    expect((await step(t.transferId, 'hold', holdBody())).status).toBe(201);
    expect((await step(t.transferId, 'capture')).body.reversal.status).toBe('completed');
    expect((await h.balance(t.from)).posted).toBe('10000');

    const pending = await h.hold(await h.wallet('USD', 100n), '50');
    const notCaptured = await step(pending.transferId, 'hold', holdBody());
    expect(notCaptured.status).toBe(409);
    expect(notCaptured.body.code).toBe('transfer_not_captured');
    expect((await step(randomUUID(), 'hold', holdBody())).body.code).toBe('transfer_not_captured');
  });

  it('is idempotent per key', async () => {
    const t = await completedTransfer('900');
    const key = randomUUID();
    const path = `/internal/transfers/${t.transferId}/reversal/hold`;
    const first = await h.call('POST', path, { body: holdBody(), key });
    const again = await h.call('POST', path, { body: holdBody(), key });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await h.balance(t.to)).toEqual({ posted: '900', pending: '900', available: '0' });
  });
});
