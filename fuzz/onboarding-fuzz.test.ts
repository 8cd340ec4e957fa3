/**
 * The onboarding's fault fuzzer in the normal suite: a bounded number of generated schedules
 * (faults on create user, create wallet, activate and the undo; a second sign-up, a restart,
 * a termination) against the real AuthService and WalletService, every invariant checked. The seed
 * changes with the day; a failure prints its seed and schedule index (replay and shrink:
 * `npm run fuzz -- --workflow onboarding --seed <seed> --runs <index + 1>`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary, runCampaign } from './campaign.js';
import { startFuzzSession, type FuzzSession } from './fuzz-session.js';
import { onboardingInvariants, type OnboardingLedger, type OnboardingRun } from './onboarding-invariants.js';
import { onboardingFuzzer } from './onboarding-scenario.js';

const RUNS = Number(process.env.VELORA_FUZZ_RUNS ?? 24);
const SEED = Number(process.env.VELORA_FUZZ_SEED ?? Math.floor(Date.now() / 86_400_000));

let session: FuzzSession;

beforeAll(async () => {
  session = await startFuzzSession('fuzz_onboarding');
});

afterAll(async () => {
  await session?.close();
});

describe('onboarding fault fuzzer', () => {
  it(`keeps every onboarding invariant over ${RUNS} generated schedules (seed ${SEED})`, async () => {
    const summary = await runCampaign(session, onboardingFuzzer, {
      seed: SEED,
      runs: RUNS,
      concurrency: 12,
      batchSize: RUNS,
    });
    console.log(formatSummary(summary));
    expect(summary.failures).toEqual([]);
    expect(summary.schedules).toBe(RUNS);
    expect(summary.historiesReplayed).toBe(RUNS - (summary.ended.stuck ?? 0));
  }, 170_000);
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
