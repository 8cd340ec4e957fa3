import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';
import { captureHold, releaseTransfer, reserveTransfer } from './transfers.repository.js';

/**
 * The three ledger calls go out as named prepared statements (lib/db.ts): a connection parses
 * and plans each once, then binds and runs it; answers are those of the functions.
 */
let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

const idem = () => ({ scope: 'client:named-statements-test', key: randomUUID(), fingerprint: randomUUID() });

describe('the ledger calls as named statements', () => {
  it('are prepared once per connection and answer as the functions do', async () => {
    const from = await h.wallet('USD', 10_000n);
    const to = await h.wallet('USD');
    const owner = (await h.call('GET', `/internal/wallets/${from}`)).body as { user_id: string };
    await h.db.connection().execute(async (conn) => {
      const reserve = (transferId: string) =>
        reserveTransfer(conn, idem(), {
          transferId,
          userId: owner.user_id,
          fromWalletId: from,
          toWalletId: to,
          amount: 300n,
          currency: 'USD',
          perTransferLimit: 1_000n,
          dailyLimit: 5_000n,
          holdTtlSeconds: 900,
        });
      const captured = randomUUID();
      const reserved = await reserve(captured);
      expect(reserved).toMatchObject({ status_code: 201, outcome: 'new' });
      const hold = (reserved.response as { hold: { id: string; amount: string } }).hold;
      expect(hold.amount).toBe('300');
      const capture = await captureHold(conn, idem(), { holdId: hold.id, toWalletId: to, events: [] });
      expect(capture).toMatchObject({ status_code: 200, outcome: 'new' });

      const released = randomUUID();
      expect((await reserve(released)).status_code).toBe(201);
      expect(await releaseTransfer(conn, idem(), { transferId: released, events: [] })).toMatchObject({
        status_code: 200,
        outcome: 'new',
      });
      // A refusal comes back the same way: the captured transfer has nothing left to release.
      const refused = await releaseTransfer(conn, idem(), { transferId: captured, events: [] });
      expect(refused.status_code).toBe(409);

      const { rows } = await sql<{ name: string }>`
        select name from pg_prepared_statements where name like 'velora_%' order by name`.execute(conn);
      expect(rows.map((r) => r.name)).toEqual(
        expect.arrayContaining(['velora_capture_hold', 'velora_release_transfer', 'velora_reserve_transfer']),
      );
    });
    expect(await h.balance(from)).toEqual({ posted: '9700', pending: '0', available: '9700' });
    expect((await h.balance(to)).posted).toBe('300');
  });
});
