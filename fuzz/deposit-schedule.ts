/**
 * The deposit's fault schedule: an amount, the state of the wallet it credits and the currency
 * asked for (the wallet's real refusals), the faults of its two activities, and what an
 * operator or a second system does around it: the same request again, the same reference under
 * another workflow id, a freeze, a terminate, a reset.
 */
import fc from 'fast-check';
import { faultsArbitrary, type Outcome } from './fault-schedule.js';

/** The deposit's activities (activities/deposit-activities.ts). */
export const DEPOSIT_ACTIVITIES = ['depositFunds', 'recordAuditTrace'] as const;
export type DepositActivity = (typeof DEPOSIT_ACTIVITIES)[number];

/**
 * What happens around a running deposit:
 * - `repeat` — the gateway's request again, same body: `startOnce` joins the run, nothing new runs;
 * - `legacy_same` / `legacy_other` — the same (wallet, reference) under another workflow id, as a
 *   deposit started before ids came from the reference, with the same amount or another one
 *   (WalletService's reference index answers the original or `duplicate_reference`);
 * - `freeze` — an operator freezes the wallet;
 * - `terminate` — an operator terminates the run;
 * - `reset` — an operator resets the run to its first workflow task (`temporal workflow reset`),
 *   after fixing the fault: the deposit runs again under the same id and key.
 */
export type DepositMessage = 'repeat' | 'legacy_same' | 'legacy_other' | 'freeze' | 'terminate' | 'reset';

/** Sent this many ms after the start, or after the run closed. */
export type DepositTrigger = 'start' | 'closed';

export interface ScheduledDepositMessage {
  at: DepositTrigger;
  delay_ms: number;
  message: DepositMessage;
}

export interface DepositSchedule {
  workflow: 'deposit';
  /** Minor units credited. */
  amount: number;
  /** Minor units already in the wallet (its own earlier deposit). */
  funded: number;
  /** The wallet's status when the deposit starts (`frozen` and `closed` are refused for real). */
  wallet: 'active' | 'frozen' | 'closed';
  /** The currency asked for; the wallet is in USD (`EUR`: a real `currency_mismatch`). */
  currency: 'USD' | 'EUR';
  faults: Partial<Record<DepositActivity, Outcome[]>>;
  messages: ScheduledDepositMessage[];
}

/**
 * Domain refusals each activity can answer: the wallet's deposit route (wallet/ledger/
 * ledger.routes.ts: the wallet's state, the reference index) and the activity's own signature
 * check; the audit route refuses only a malformed record.
 */
export const DEPOSIT_REFUSALS: Record<DepositActivity, readonly string[]> = {
  depositFunds: [
    'wallet_frozen',
    'wallet_closed',
    'currency_mismatch',
    'duplicate_reference',
    'not_authorized',
  ],
  recordAuditTrace: ['validation_failed'],
};

const messageArbitrary: fc.Arbitrary<ScheduledDepositMessage> = fc.record({
  at: fc.oneof(
    { weight: 3, arbitrary: fc.constant<DepositTrigger>('start') },
    { weight: 1, arbitrary: fc.constant<DepositTrigger>('closed') },
  ),
  delay_ms: fc.integer({ min: 0, max: 1500 }),
  message: fc.oneof(
    { weight: 2, arbitrary: fc.constant<DepositMessage>('repeat') },
    { weight: 2, arbitrary: fc.constant<DepositMessage>('legacy_same') },
    { weight: 1, arbitrary: fc.constant<DepositMessage>('legacy_other') },
    { weight: 1, arbitrary: fc.constant<DepositMessage>('freeze') },
    { weight: 1, arbitrary: fc.constant<DepositMessage>('terminate') },
    { weight: 2, arbitrary: fc.constant<DepositMessage>('reset') },
  ),
});

/**
 * A deposit schedule. Amounts run from one minor unit to the largest the gateway accepts
 * (2^53 − 1); a closed wallet is an empty one. `down` is never drawn: no input shortens the deposit's 5-minute retry window.
 */
export const depositScheduleArbitrary: fc.Arbitrary<DepositSchedule> = fc
  .record({
    workflow: fc.constant('deposit' as const),
    amount: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 10_000_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) },
    ),
    funded: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_000_000 })),
    wallet: fc.oneof(
      { weight: 6, arbitrary: fc.constant('active' as const) },
      { weight: 1, arbitrary: fc.constant('frozen' as const) },
      { weight: 1, arbitrary: fc.constant('closed' as const) },
    ),
    currency: fc.oneof(
      { weight: 6, arbitrary: fc.constant('USD' as const) },
      { weight: 1, arbitrary: fc.constant('EUR' as const) },
    ),
    faults: faultsArbitrary(DEPOSIT_ACTIVITIES, DEPOSIT_REFUSALS),
    messages: fc.array(messageArbitrary, { maxLength: 3 }),
  })
  // Only an empty wallet can be closed.
  .map((s) => (s.wallet === 'closed' ? { ...s, funded: 0 } : s));
