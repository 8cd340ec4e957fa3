import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness({ poolMax: 12 });
});
afterAll(async () => {
  await h.close();
});

type Op =
  | { t: 'deposit'; w: number; amount: number }
  | { t: 'withdraw'; w: number; amount: number }
  | { t: 'hold'; w: number; amount: number }
  | { t: 'capture'; hold: number; to: number; part: number }
  | { t: 'release'; hold: number }
  | { t: 'reverse'; tx: number };

const WALLETS = 5;
const amount = fc.integer({ min: 1, max: 400 });
const wallet = fc.integer({ min: 0, max: WALLETS - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('deposit' as const), w: wallet, amount }),
  fc.record({ t: fc.constant('withdraw' as const), w: wallet, amount }),
  fc.record({ t: fc.constant('hold' as const), w: wallet, amount }),
  fc.record({
    t: fc.constant('capture' as const),
    hold: fc.nat(10),
    to: wallet,
    part: fc.integer({ min: 0, max: 100 }),
  }),
  fc.record({ t: fc.constant('release' as const), hold: fc.nat(10) }),
  fc.record({ t: fc.constant('reverse' as const), tx: fc.nat(10) }),
);
/** Several lanes run in parallel against the same wallets; ops inside a lane run in order. */
const scenario = fc.record({
  initial: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: WALLETS, maxLength: WALLETS }),
  lanes: fc.array(fc.array(op, { maxLength: 10 }), { minLength: 2, maxLength: 4 }),
});

/** Effect of a committed journal transaction on posted balances, by wallet index. */
type Effect = Map<number, bigint>;

describe('the books under random concurrent operations (property)', () => {
  it('never create or lose money, never go below zero, and reconcile', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ initial, lanes }) => {
        const ids = await Promise.all(initial.map((n) => h.wallet('USD', BigInt(n))));
        const expectedPosted = initial.map((n) => BigInt(n));
        const expectedPending = initial.map(() => 0n);
        const apply = (effect: Effect, sign: bigint) => {
          for (const [w, d] of effect) expectedPosted[w]! += sign * d;
        };
        const key = () => randomUUID();

        await Promise.all(
          lanes.map(async (lane) => {
            const holds: { id: string; transferId: string; w: number; amount: bigint; open: boolean }[] = [];
            const txs: { id: string; effect: Effect; reversed: boolean }[] = [];
            for (const o of lane) {
              switch (o.t) {
                case 'deposit':
                case 'withdraw': {
                  const path = o.t === 'deposit' ? 'deposits' : 'withdrawals';
                  const res = await h.call('POST', `/internal/wallets/${ids[o.w]}/${path}`, {
                    body: { amount: String(o.amount), currency: 'USD', reference: `prop ${randomUUID()}` },
                    key: key(),
                  });
                  if (res.status === 201) {
                    const effect: Effect = new Map([
                      [o.w, o.t === 'deposit' ? BigInt(o.amount) : -BigInt(o.amount)],
                    ]);
                    apply(effect, 1n);
                    txs.push({
                      id: (res.body as { transaction_id: string }).transaction_id,
                      effect,
                      reversed: false,
                    });
                  } else expect(res.status).toBe(422);
                  break;
                }
                case 'hold': {
                  const res = await h.hold(ids[o.w]!, String(o.amount), {
                    to: ids[(o.w + 1) % ids.length],
                    key: key(),
                  });
                  if (res.status === 201) {
                    holds.push({
                      id: (res.body as { id: string }).id,
                      transferId: res.transferId,
                      w: o.w,
                      amount: BigInt(o.amount),
                      open: true,
                    });
                    expectedPending[o.w]! += BigInt(o.amount);
                  } else expect((res.body as { code: string }).code).toBe('insufficient_funds');
                  break;
                }
                case 'capture': {
                  const hold = holds[o.hold % Math.max(1, holds.length)];
                  if (!hold) break;
                  const part = o.part === 0 ? undefined : (hold.amount * BigInt(o.part)) / 100n || 1n;
                  const res = await h.call('POST', `/internal/holds/${hold.id}/capture`, {
                    body: { to_wallet_id: ids[o.to], ...(part ? { amount: part.toString() } : {}) },
                    key: key(),
                  });
                  if (!hold.open) expect((res.body as { code: string }).code).toBe('hold_not_active');
                  else if (o.to === hold.w) expect((res.body as { code: string }).code).toBe('same_wallet');
                  else {
                    expect(res.status).toBe(200);
                    hold.open = false;
                    expectedPending[hold.w]! -= hold.amount;
                    const moved = part ?? hold.amount;
                    const effect: Effect = new Map([
                      [hold.w, -moved],
                      [o.to, moved],
                    ]);
                    apply(effect, 1n);
                    txs.push({
                      id: (res.body as { transaction_id: string }).transaction_id,
                      effect,
                      reversed: false,
                    });
                  }
                  break;
                }
                case 'release': {
                  const hold = holds[o.hold % Math.max(1, holds.length)];
                  if (!hold) break;
                  const res = await h.call('POST', `/internal/transfers/${hold.transferId}/release`, {
                    key: key(),
                  });
                  if (res.status === 200) {
                    if (hold.open) expectedPending[hold.w]! -= hold.amount;
                    hold.open = false;
                  } else expect((res.body as { code: string }).code).toBe('hold_already_captured');
                  break;
                }
                case 'reverse': {
                  const tx = txs[o.tx % Math.max(1, txs.length)];
                  if (!tx) break;
                  const res = await h.call('POST', `/internal/transactions/${tx.id}/reverse`, {
                    body: { reason: 'prop' },
                    key: key(),
                  });
                  if (res.status === 201) {
                    expect(tx.reversed).toBe(false);
                    tx.reversed = true;
                    apply(tx.effect, -1n);
                  } else expect((res.body as { code: string }).code).toBe('reversal_not_possible');
                  break;
                }
              }
            }
          }),
        );

        for (let w = 0; w < WALLETS; w++) {
          const b = await h.balance(ids[w]!);
          expect(BigInt(b.posted)).toBe(expectedPosted[w]);
          expect(BigInt(b.pending)).toBe(expectedPending[w]);
          expect(BigInt(b.available)).toBeGreaterThanOrEqual(0n);
        }
        await h.relay.drainAll();
        await h.sealer.sealAll();
        const report = await h.services.reconciliation.run();
        expect(report.discrepancies).toEqual([]);
      }),
      { numRuns: 20 },
    );
  }, 300_000);
});
