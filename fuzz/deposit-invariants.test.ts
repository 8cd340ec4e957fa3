/** The deposit's checks catch what they promise to: a second credit, a view that disagrees. */
import { describe, expect, it } from 'vitest';
import {
  depositMoneyInvariants,
  depositOutcomeInvariants,
  type DepositLedger,
} from './deposit-invariants.js';

const once: DepositLedger = {
  wallet: { posted: 1_500n, pending: 0n, status: 'active' },
  references: [{ transaction_id: 't1', amount: 500n }],
  credits: [{ id: 't1', amount: 500n }],
  audit: ['deposit:completed'],
};

describe('deposit invariants', () => {
  it('accept one credit of the amount on top of the funding', () => {
    expect(depositMoneyInvariants(once, 1_000n)).toEqual([]);
  });

  it('catch a reference credited twice', () => {
    const twice: DepositLedger = {
      ...once,
      wallet: { ...once.wallet, posted: 2_000n },
      credits: [...once.credits, { id: 't2', amount: 500n }],
    };
    expect(depositMoneyInvariants(twice, 1_000n)).toContain('the reference credited the wallet 2 times');
  });

  it('catch a failed run whose credit no other run explains', () => {
    const broken = depositOutcomeInvariants('the deposit', { kind: 'failed', code: 'wallet_frozen' }, once, {
      walletId: 'w',
      amount: 500n,
      funded: 1_000n,
      codes: new Set(['wallet_frozen']),
      creditedElsewhere: false,
    });
    expect(broken).toHaveLength(1);
  });
});
