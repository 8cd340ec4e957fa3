/**
 * The withdrawal's fault schedule: an amount on either side of the step-up threshold, how well
 * the wallet is funded, the faults of its activities, what the payout provider does (its answer
 * to the submit, its decision, when its result arrives and whether it repeats), and the messages
 * a user or an operator sends at chosen points.
 */
import fc from 'fast-check';
import { faultsArbitrary, STEP_UP_THRESHOLD, type Outcome } from './fault-schedule.js';

/** The withdrawal's activities (activities/withdrawal-activities.ts and the transfer's step-up). */
export const WITHDRAWAL_ACTIVITIES = [
  'reserveWithdrawal',
  'sendStepUpOtp',
  'verifyStepUpOtp',
  'submitPayout',
  'captureWithdrawal',
  'releaseWithdrawal',
  'captureLatePayout',
] as const;
export type WithdrawalActivity = (typeof WITHDRAWAL_ACTIVITIES)[number];

/**
 * Domain refusals each activity can answer, as its upstream really does (the wallet's
 * migration 0030 functions, AuthService's OTP, the activity's own `payout_rejected` for a 4xx of
 * the provider). The capture's real refusals (`hold_not_active`, `hold_already_captured`) need a
 * hold that is not active: a refusal injected before the call would lie about an active hold,
 * so they are left out; the late capture's `insufficient_funds` is likewise met for real only.
 */
const REFUSALS: Record<WithdrawalActivity, readonly string[]> = {
  reserveWithdrawal: [
    'insufficient_funds',
    'limit_exceeded',
    'wallet_frozen',
    'transfer_released',
    'not_authorized',
  ],
  sendStepUpOtp: ['otp_cooldown', 'not_authorized'],
  verifyStepUpOtp: ['otp_invalid', 'otp_expired', 'otp_exhausted'],
  submitPayout: ['payout_rejected'],
  captureWithdrawal: [],
  // A refused release parks the withdrawal (`release_unanswered`) until an operator's retry.
  releaseWithdrawal: ['hold_already_captured'],
  captureLatePayout: [],
};

/**
 * The payout provider's behaviour for one withdrawal:
 * - `submit_5xx`: the first submits answered 503 by the provider itself (the activity retries);
 * - `decision`: what it decides once it has the payout;
 * - `delivery`: its result reaches the webhook `prompt`ly (before the payout timeout), `late`
 *   (after the timeout, within the late-result window), or `never`;
 * - `delay_ms`: how long after the moment `delivery` names;
 * - `repeat`: the same event is delivered again a little later;
 * - `mismatch`: the result reports another amount than the withdrawal's (a settlement for a
 *   different sum: the withdrawal must not book it blindly).
 */
export interface ProviderBehaviour {
  submit_5xx: number;
  decision: 'settled' | 'rejected';
  delivery: 'prompt' | 'late' | 'never';
  delay_ms: number;
  repeat: boolean;
  mismatch: boolean;
}

/** A user's or an operator's message to a running withdrawal. */
export type WithdrawalMessage =
  'confirm_right' | 'confirm_wrong' | 'cancel' | 'retry' | 'settle_late_payout' | 'terminate';

/** The withdrawal statuses a message may wait for before it is sent. */
export type WithdrawalTrigger =
  'start' | 'awaiting_confirmation' | 'processing' | 'submitted' | 'needs_attention' | 'failed';

export interface ScheduledWithdrawalMessage {
  /** Sent once the withdrawal shows this status (or right away for `start`)… */
  at: WithdrawalTrigger;
  /** …and this many ms later. */
  delay_ms: number;
  message: WithdrawalMessage;
}

/** One withdrawal's schedule. */
export interface WithdrawalSchedule {
  workflow: 'withdrawal';
  /** Minor units; at or above `STEP_UP_THRESHOLD` the withdrawal asks for an OTP. */
  amount: number;
  /** Minor units deposited into the user's fresh wallet before the withdrawal. */
  funded: number;
  provider: ProviderBehaviour;
  /**
   * A time jump past the hold's expiry once the provider decided, before its result arrives:
   * the sweep gives the funds back, and a settled payout finds no hold to capture.
   */
  hold_expires: boolean;
  /** The user spends everything available before an operator books a late payout (a collection case). */
  spends: boolean;
  faults: Partial<Record<WithdrawalActivity, Outcome[]>>;
  messages: ScheduledWithdrawalMessage[];
}

/** True one time in eight. */
const rarely = fc.oneof(
  { weight: 7, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
);

const providerArbitrary: fc.Arbitrary<ProviderBehaviour> = fc.record({
  submit_5xx: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) },
  ),
  decision: fc.oneof(
    { weight: 3, arbitrary: fc.constant<'settled' | 'rejected'>('settled') },
    { weight: 1, arbitrary: fc.constant<'settled' | 'rejected'>('rejected') },
  ),
  delivery: fc.oneof(
    { weight: 4, arbitrary: fc.constant<ProviderBehaviour['delivery']>('prompt') },
    { weight: 2, arbitrary: fc.constant<ProviderBehaviour['delivery']>('late') },
    { weight: 1, arbitrary: fc.constant<ProviderBehaviour['delivery']>('never') },
  ),
  delay_ms: fc.integer({ min: 0, max: 1000 }),
  repeat: fc.boolean(),
  // A fixed finding: fuzz/regressions/withdrawal-settlement-mismatch-resolved-failed.json.
  mismatch: rarely,
});

/** Most messages wait for a status where they mean something; some arrive early or late on purpose. */
const messageArbitrary: fc.Arbitrary<ScheduledWithdrawalMessage> = fc.record({
  at: fc.oneof(
    { weight: 4, arbitrary: fc.constant<WithdrawalTrigger>('awaiting_confirmation') },
    { weight: 2, arbitrary: fc.constant<WithdrawalTrigger>('needs_attention') },
    { weight: 1, arbitrary: fc.constant<WithdrawalTrigger>('start') },
    { weight: 1, arbitrary: fc.constant<WithdrawalTrigger>('processing') },
    { weight: 1, arbitrary: fc.constant<WithdrawalTrigger>('submitted') },
    { weight: 1, arbitrary: fc.constant<WithdrawalTrigger>('failed') },
  ),
  delay_ms: fc.integer({ min: 0, max: 1500 }),
  message: fc.oneof(
    { weight: 5, arbitrary: fc.constant<WithdrawalMessage>('confirm_right') },
    { weight: 2, arbitrary: fc.constant<WithdrawalMessage>('confirm_wrong') },
    { weight: 2, arbitrary: fc.constant<WithdrawalMessage>('cancel') },
    // Also where the withdrawal waits for a decision, not a retry (a fixed finding:
    // fuzz/regressions/withdrawal-retry-while-parked-settled.json).
    { weight: 1, arbitrary: fc.constant<WithdrawalMessage>('retry') },
    { weight: 1, arbitrary: fc.constant<WithdrawalMessage>('settle_late_payout') },
    { weight: 1, arbitrary: fc.constant<WithdrawalMessage>('terminate') },
  ),
});

/**
 * A withdrawal schedule. Amounts fall on both sides of the step-up threshold; the wallet is
 * funded short of the amount (a real `insufficient_funds`), exactly, or with room to spare.
 */
export const withdrawalScheduleArbitrary: fc.Arbitrary<WithdrawalSchedule> = fc
  .record({
    amount: fc.oneof(
      fc.integer({ min: 1, max: STEP_UP_THRESHOLD - 1 }),
      fc.integer({ min: STEP_UP_THRESHOLD, max: 3 * STEP_UP_THRESHOLD }),
    ),
    funding: fc.constantFrom('short', 'exact', 'ample'),
    provider: providerArbitrary,
    hold_expires: rarely,
    spends: rarely,
    faults: faultsArbitrary(WITHDRAWAL_ACTIVITIES, REFUSALS),
    messages: fc.array(messageArbitrary, { maxLength: 4 }),
  })
  .map(({ amount, funding, provider, hold_expires, spends, faults, messages }) => ({
    workflow: 'withdrawal' as const,
    amount,
    funded: funding === 'short' ? amount - 1 : funding === 'exact' ? amount : amount * 2,
    provider,
    hold_expires,
    spends,
    faults,
    messages,
  }));
