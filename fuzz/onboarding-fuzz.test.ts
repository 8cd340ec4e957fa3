/**
 * The onboarding's fault fuzzer in the normal suite: a bounded number of generated schedules
 * (faults on create user, create wallet, activate and the undo; a second sign-up, a restart,
 * a termination) against the real AuthService and WalletService, every invariant checked. The seed
 * changes with the day; a failure prints its seed and schedule index (replay and shrink:
 * `npm run fuzz -- --workflow onboarding --seed <seed> --runs <index + 1>`).
 */
import { describe, expect, it } from 'vitest';
import { describeBoundedFuzz } from './bounded-fuzz.js';
import { onboardingInvariants, type OnboardingLedger, type OnboardingRun } from './onboarding-invariants.js';
import { onboardingFuzzer } from './onboarding-scenario.js';

describeBoundedFuzz(onboardingFuzzer, {
  runs: 24,
  session: 'fuzz_onboarding',
  property: 'keeps every onboarding invariant',
});

describe('onboarding invariants', () => {
  const wallet = (id: string, userId = 'u1', currency = 'USD') => ({
    id,
    user_id: userId,
    currency,
    posted: 0n,
    pending: 0n,
    status: 'active',
  });
  const done: OnboardingRun = {
    origin: 'first',
    ended: 'completed',
    result: { user_id: 'u1', wallet_id: 'w1', status: 'active' },
  };
  const ledger = (status: string, wallets = [wallet('w1')]): OnboardingLedger => ({
    users: [{ id: 'u1', status }],
    wallets,
    answeredIdsInUse: ['u1'],
  });

  it('accept an active user with the wallet the onboarding answered, and a disabled one nobody answered for', () => {
    expect(onboardingInvariants(ledger('active'), [done], 'USD')).toEqual([]);
    expect(
      onboardingInvariants(
        ledger('disabled'),
        [{ origin: 'first', ended: 'failed', failureType: 'user_disabled' }],
        'USD',
      ),
    ).toEqual([]);
  });

  it('catch a second wallet, a disabled user answered as onboarded, and a pending user nobody terminated', () => {
    expect(onboardingInvariants(ledger('active', [wallet('w1'), wallet('w2')]), [done], 'USD')).not.toEqual(
      [],
    );
    expect(onboardingInvariants(ledger('disabled'), [done], 'USD')).not.toEqual([]);
    expect(
      onboardingInvariants(
        ledger('pending'),
        [{ origin: 'first', ended: 'failed', failureType: 'compensation_failed' }],
        'USD',
      ),
    ).not.toEqual([]);
  });
});
