/**
 * The reversal's fault schedule: the completed transfer it reverses (amount, how well the payer
 * was funded), what the payee did with the money before the reversal, the wallets' state, the
 * faults of the reversal's three activities, and the messages an operator (or the payee's own
 * spending) sends while it runs.
 */
import fc from 'fast-check';
import { faultsArbitrary, STEP_UP_THRESHOLD, type Outcome } from './fault-schedule.js';

/** The reversal's activities (activities/reversal-activities.ts). */
export const REVERSAL_ACTIVITIES = ['holdReversal', 'captureReversal', 'releaseReversal'] as const;
export type ReversalActivity = (typeof REVERSAL_ACTIVITIES)[number];

/**
 * What happens around a running reversal:
 * - `retry` — the operator's `retryReversalCompensation` signal;
 * - `terminate` — an operator terminates the latest attempt;
 * - `repeat` — the admin's request again, same body: it joins the attempt that runs or ran;
 * - `ask_again` / `ask_again_partial` — the admin asks again with another key once the latest
 *   attempt ended `failed` (the gateway then starts the next attempt; otherwise it answers the
 *   existing one), without or with `allow_partial`;
 * - `payee_spends` — the payee withdraws half of what it has available, racing the reversal's hold;
 * - `payee_receives` — the payee is credited the transfer's amount again (a deposit).
 */
export type ReversalMessage =
  'retry' | 'terminate' | 'repeat' | 'ask_again' | 'ask_again_partial' | 'payee_spends' | 'payee_receives';

/** Sent this many ms after the start, once the latest attempt shows `needs_attention`, or once it closed. */
export type ReversalTrigger = 'start' | 'needs_attention' | 'closed';

export interface ScheduledReversalMessage {
  at: ReversalTrigger;
  delay_ms: number;
  message: ReversalMessage;
}

export interface ReversalSchedule {
  workflow: 'reversal';
  /** The transfer's amount, minor units, below the step-up threshold (one reserve-and-capture). */
  amount: number;
  /** Minor units deposited into the payer before the transfer: exactly the amount, or twice. */
  funded: number;
  /** Before the reversal, the payee withdrew nothing, part (a minor unit short of all) or all of it. */
  payee_spent: 'nothing' | 'part' | 'all';
  /** The state of the wallets when the reversal starts: a frozen payee, a closed (emptied) payer. */
  wallets: 'active' | 'payee_frozen' | 'payer_closed';
  /** The first attempt's `allow_partial`. */
  allow_partial: boolean;
  faults: Partial<Record<ReversalActivity, Outcome[]>>;
  messages: ScheduledReversalMessage[];
}

/**
 * Domain refusals each activity can answer (wallet/reversals/reversals.service.ts, and the hold's
 * own signature check). The release answers only `reversal_already_captured`: the saga then
 * parks the reversal in `needs_attention` until the operator's retry.
 */
export const REVERSAL_REFUSALS: Record<ReversalActivity, readonly string[]> = {
  holdReversal: [
    'reversal_insufficient_funds',
    'transfer_already_reversed',
    'transfer_not_captured',
    'wallet_closed',
    'not_authorized',
  ],
  captureReversal: ['hold_not_active', 'reversal_released', 'wallet_closed'],
  releaseReversal: ['reversal_already_captured'],
};

const messageArbitrary: fc.Arbitrary<ScheduledReversalMessage> = fc.record({
  at: fc.oneof(
    { weight: 2, arbitrary: fc.constant<ReversalTrigger>('start') },
    { weight: 2, arbitrary: fc.constant<ReversalTrigger>('needs_attention') },
    { weight: 2, arbitrary: fc.constant<ReversalTrigger>('closed') },
  ),
  delay_ms: fc.integer({ min: 0, max: 1500 }),
  message: fc.oneof(
    { weight: 2, arbitrary: fc.constant<ReversalMessage>('retry') },
    { weight: 1, arbitrary: fc.constant<ReversalMessage>('terminate') },
    { weight: 1, arbitrary: fc.constant<ReversalMessage>('repeat') },
    { weight: 2, arbitrary: fc.constant<ReversalMessage>('ask_again') },
    { weight: 1, arbitrary: fc.constant<ReversalMessage>('ask_again_partial') },
    { weight: 2, arbitrary: fc.constant<ReversalMessage>('payee_spends') },
    { weight: 1, arbitrary: fc.constant<ReversalMessage>('payee_receives') },
  ),
});

/**
 * The faults of the three steps. The one path to `needs_attention` within a schedule needs a hold
 * placed, then a refused capture and a refused release: besides the shared draws, the capture is
 * refused a time in four and, with it, the release half the time, so that about one schedule in
 * twelve parks (none of seed 1's first 300 did at the shared weights alone).
 */
const reversalFaultsArbitrary: fc.Arbitrary<Partial<Record<ReversalActivity, Outcome[]>>> = fc
  .record({
    faults: faultsArbitrary(REVERSAL_ACTIVITIES, REVERSAL_REFUSALS),
    captureRefused: fc.oneof(
      { weight: 3, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constantFrom(...REVERSAL_REFUSALS.captureReversal) },
    ),
    releaseRefused: fc.boolean(),
  })
  .map(({ faults, captureRefused, releaseRefused }) => ({
    ...faults,
    ...(captureRefused === null
      ? {}
      : { captureReversal: [{ kind: 'refusal' as const, code: captureRefused }] }),
    ...(releaseRefused && captureRefused !== null
      ? { releaseReversal: [{ kind: 'refusal' as const, code: 'reversal_already_captured' }] }
      : {}),
  }));

/**
 * A reversal schedule. `down` is never drawn: no input shortens the reversal's 10-minute capture
 * and release rounds, so `needs_attention` is reached through the release's refusal only.
 */
export const reversalScheduleArbitrary: fc.Arbitrary<ReversalSchedule> = fc
  .record({
    amount: fc.integer({ min: 2, max: STEP_UP_THRESHOLD - 1 }),
    funding: fc.constantFrom('exact', 'ample'),
    payee_spent: fc.oneof(
      { weight: 4, arbitrary: fc.constant('nothing' as const) },
      { weight: 2, arbitrary: fc.constant('part' as const) },
      { weight: 1, arbitrary: fc.constant('all' as const) },
    ),
    wallets: fc.oneof(
      { weight: 6, arbitrary: fc.constant('active' as const) },
      { weight: 1, arbitrary: fc.constant('payee_frozen' as const) },
      { weight: 1, arbitrary: fc.constant('payer_closed' as const) },
    ),
    allow_partial: fc.boolean(),
    faults: reversalFaultsArbitrary,
    messages: fc.array(messageArbitrary, { maxLength: 4 }),
  })
  .map(({ funding, ...s }) => ({
    workflow: 'reversal' as const,
    ...s,
    // Only an empty wallet can be closed: the payer sent all it had.
    funded: funding === 'exact' || s.wallets === 'payer_closed' ? s.amount : s.amount * 2,
  }));
