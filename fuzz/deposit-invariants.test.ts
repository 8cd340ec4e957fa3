/** The deposit's checks catch what they promise to: a second credit, a view that disagrees. */
import { describe, expect, it } from 'vitest';
import {
  depositAuditInvariants,
  depositMoneyInvariants,
  depositOutcomeInvariants,
  type DepositEnd,
  type DepositLedger,
} from './deposit-invariants.js';

const once: DepositLedger = {
  wallet: { posted: 1_500n, pending: 0n, status: 'active' },
  references: [{ transaction_id: 't1', amount: 500n }],
  credits: [{ id: 't1', amount: 500n }],
  audit: [{ run: 'r1', entry: 'deposit:completed' }],
};
const completed: DepositEnd = {
  kind: 'completed',
  result: {
    transaction_id: 't1',
    wallet_id: 'w',
    amount: '500',
    currency: 'USD',
    balance: { posted: '1500', pending: '0', available: '1500' },
  },
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

  it("ask for the latest run's own audit record, once per run", () => {
    expect(depositAuditInvariants(completed, once, 'r1', false)).toEqual([]);
    // A reset run (r2) leaning on the first run's record: its own outcome went unrecorded.
    expect(depositAuditInvariants(completed, once, 'r2', false)).toEqual([
      'the run ended completed without its audit record deposit:completed',
    ]);
    // Unless its audit call was refused on purpose.
    expect(depositAuditInvariants(completed, once, 'r2', true)).toEqual([]);
    const repeated: DepositLedger = { ...once, audit: [...once.audit, ...once.audit] };
    expect(depositAuditInvariants(completed, repeated, 'r1', false)).toEqual([
      'audit record deposit:completed of run r1 written twice',
    ]);
  });
});
