/** The reversal's checks catch what they promise to: a second move back, more than the transfer. */
import { describe, expect, it } from 'vitest';
import { reversalMoneyInvariants, type ReversalLedger } from './reversal-invariants.js';

// A transfer of 300 from a payer funded 1,000, moved back once.
const reversed: ReversalLedger = {
  payer: { posted: 1_000n, pending: 0n },
  payee: { posted: 0n, pending: 0n },
  row: { status: 'completed', amount: 300n, hold_id: 'h1', transaction_id: 'r1' },
  holds: [{ id: 'h1', status: 'captured', amount: 300n }],
  moves: [{ id: 'r1', amount: 300n }],
};
const expectation = { amount: 300n, total: 1_000n, payerAfterTransfer: 700n };

describe('reversal invariants', () => {
  it('accept the transfer moved back once', () => {
    expect(reversalMoneyInvariants(reversed, expectation)).toEqual([]);
  });

  it('catch a transfer moved back twice', () => {
    const twice: ReversalLedger = {
      ...reversed,
      payer: { posted: 1_300n, pending: 0n },
      payee: { posted: -300n, pending: 0n },
      moves: [...reversed.moves, { id: 'r2', amount: 300n }],
    };
    const broken = reversalMoneyInvariants(twice, expectation);
    expect(broken).toContain('the transfer was reversed 2 times');
    expect(broken).toContain("payee's available balance is negative (-300)");
  });

  it('catch money held that no active hold accounts for', () => {
    const stuck: ReversalLedger = { ...reversed, payee: { posted: 0n, pending: 300n } };
    expect(reversalMoneyInvariants(stuck, expectation)).toContain(
      "payee's pending 300 != the reversal's active holds 0",
    );
  });
});
