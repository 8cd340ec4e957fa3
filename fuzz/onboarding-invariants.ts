/**
 * The invariants of one fuzzed onboarding (issue 16): at the end, either an active user with
 * exactly one wallet in the requested currency (the one the onboarding answered), or a
 * disabled or absent user whom no onboarding answered as onboarded; never a second user for
 * the email or a second wallet for the user, whatever answers were lost and whatever ran twice.
 * Read from AuthService's and WalletService's own tables (read-only).
 */
import type { FuzzUpstreams } from './fuzz-upstreams.js';

/** How one run of an onboarding (the first, a restart, a second sign-up's) ended. */
export interface OnboardingRun {
  /** `first`, `start_again` or `sign_up_again`. */
  origin: string;
  ended: 'completed' | 'failed' | 'terminated' | 'stuck';
  result?: { user_id: string; wallet_id: string; status: string };
  failureType?: string;
}

export interface OnboardingLedger {
  /** Accounts with the email (the column is unique: at most one is expected). */
  users: { id: string; status: string }[];
  /** The wallets of those accounts. */
  wallets: {
    id: string;
    user_id: string;
    currency: string;
    posted: bigint;
    pending: bigint;
    status: string;
  }[];
  /** Of the ids the runs answered, the ones that name an account or own a wallet. */
  answeredIdsInUse: string[];
}

/** The codes an onboarding may fail with: the refusals its steps really answer, and a stuck undo. */
const FAILURE_TYPES: ReadonlySet<string> = new Set([
  'registration_not_found',
  'validation_failed',
  'user_disabled',
  'compensation_failed',
]);

export async function readOnboardingLedger(
  upstreams: FuzzUpstreams,
  email: string,
  runs: readonly OnboardingRun[],
): Promise<OnboardingLedger> {
  const users = await upstreams.auth.db
    .selectFrom('users')
    .select(['id', 'status'])
    .where('email', '=', email)
    .execute();
  const answered = runs.flatMap((r) => (r.result ? [r.result.user_id] : []));
  const userIds = [...new Set([...users.map((u) => u.id), ...answered])];
  const wallets =
    userIds.length === 0
      ? []
      : await upstreams.wallet.db
          .selectFrom('wallets')
          .select(['id', 'user_id', 'currency', 'posted', 'pending', 'status'])
          .where('user_id', 'in', userIds)
          .execute();
  const known =
    answered.length === 0
      ? []
      : await upstreams.auth.db.selectFrom('users').select(['id']).where('id', 'in', answered).execute();
  const answeredIdsInUse = answered.filter(
    (id) => known.some((u) => u.id === id) || wallets.some((w) => w.user_id === id),
  );
  return {
    users: users.map((u) => ({ id: u.id, status: u.status })),
    wallets: wallets.map((w) => ({
      id: w.id,
      user_id: w.user_id ?? '',
      currency: w.currency,
      posted: BigInt(w.posted),
      pending: BigInt(w.pending),
      status: w.status,
    })),
    answeredIdsInUse: [...new Set(answeredIdsInUse)],
  };
}

export function onboardingInvariants(
  ledger: OnboardingLedger,
  runs: readonly OnboardingRun[],
  currency: string,
): string[] {
  const broken: string[] = [];
  if (ledger.users.length > 1) broken.push(`${ledger.users.length} accounts for one email`);
  const user = ledger.users[0];
  for (const run of runs) {
    if (run.ended === 'stuck') broken.push(`the ${run.origin} run did not end in time`);
    if (run.ended === 'failed' && !FAILURE_TYPES.has(run.failureType ?? ''))
      broken.push(`the ${run.origin} run failed with ${run.failureType ?? 'no type'}`);
    if (run.result && run.result.status !== 'active')
      broken.push(`the ${run.origin} run answered status ${run.result.status}`);
  }
  // An answer names the account (it onboarded it), or is the "already registered" answer,
  // whose ids must name nothing (the edge cannot tell the two apart, nor use them).
  const onboarded = runs.filter((r) => r.result && r.result.user_id === user?.id);
  for (const run of runs) {
    if (!run.result || run.result.user_id === user?.id) continue;
    if (ledger.answeredIdsInUse.includes(run.result.user_id))
      broken.push(`the ${run.origin} run answered a user id of someone else's account or wallet`);
  }

  for (const id of new Set(ledger.wallets.map((w) => w.user_id))) {
    const own = ledger.wallets.filter((w) => w.user_id === id);
    if (id !== user?.id)
      broken.push(`wallets [${own.map((w) => w.id).join(', ')}] for a user that does not exist`);
    for (const cur of new Set(own.map((w) => w.currency))) {
      const n = own.filter((w) => w.currency === cur).length;
      if (n > 1) broken.push(`${n} ${cur} wallets for one user`);
    }
    if (own.some((w) => w.currency !== currency)) broken.push(`a wallet in a currency nobody asked for`);
    if (own.some((w) => w.posted !== 0n || w.pending !== 0n)) broken.push('a new wallet with money in it');
  }
  if (!user) {
    if (onboarded.length > 0) broken.push('answered as onboarded, but no account has the email');
    return broken;
  }

  const wallets = ledger.wallets.filter((w) => w.user_id === user.id && w.currency === currency);
  switch (user.status) {
    case 'active':
      if (wallets.length !== 1) broken.push(`an active user with ${wallets.length} ${currency} wallets`);
      if (onboarded.length === 0) broken.push('an active user no onboarding answered for');
      for (const run of onboarded)
        if (run.result?.wallet_id !== wallets[0]?.id)
          broken.push(`the ${run.origin} run answered wallet ${run.result?.wallet_id}, not the user's`);
      break;
    case 'disabled':
      if (onboarded.length > 0) broken.push('a disabled user that an onboarding answered as onboarded');
      break;
    case 'pending':
      // Left half-made only by a terminated run: nothing undoes a run an operator killed.
      if (!runs.some((r) => r.ended === 'terminated'))
        broken.push('a pending user left behind by runs that all ended on their own');
      if (onboarded.length > 0) broken.push('a pending user that an onboarding answered as onboarded');
      break;
    default:
      broken.push(`a user in status ${user.status}`);
  }
  return broken;
}
