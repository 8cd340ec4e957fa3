/**
 * What the fuzzer generates: a fault schedule. For every activity of a workflow, the outcome of
 * each of its calls in order (a call is one activity invocation with all its retries; the
 * calls beyond the list succeed), plus the messages a user or an operator sends. Plain JSON, so
 * a shrunk failing schedule is written to a file and replayed as it is.
 */
import fc from 'fast-check';

/**
 * What happens to one activity call, injected around the real activity:
 * - `ok` — the real call, untouched;
 * - `retryable` — `times` attempts fail with an outage before the call is made, then it goes through;
 * - `lost_after` — the real call is made, then its answer is lost (a timeout after the work):
 *   the retry repeats the same request and meets WalletService's idempotency for real;
 * - `lost_before` — the attempt times out before the request is sent, the retry goes through;
 * - `refusal` — a domain refusal (`code`), nothing done;
 * - `crash` — the worker dies during the call, after the request was sent (`after_work`) or
 *   before: the attempt's result never reaches the history (docs/reliability.md says how this is
 *   modelled and why it is equivalent);
 * - `down` — every attempt fails with an outage until the activity's round runs out (capture
 *   and release: the transfer parks in `needs_attention`).
 */
export type Outcome =
  | { kind: 'ok' }
  | { kind: 'retryable'; times: number }
  | { kind: 'lost_after' }
  | { kind: 'lost_before' }
  | { kind: 'refusal'; code: string }
  | { kind: 'crash'; after_work: boolean }
  | { kind: 'down' };

export type OutcomeKind = Outcome['kind'];
export const OUTCOME_KINDS: readonly OutcomeKind[] = [
  'ok',
  'retryable',
  'lost_after',
  'lost_before',
  'refusal',
  'crash',
  'down',
];

/** The transfer's activities (activities/transfer-activities.ts). */
export const TRANSFER_ACTIVITIES = [
  'reserveTransfer',
  'sendStepUpOtp',
  'verifyStepUpOtp',
  'captureTransfer',
  'releaseTransfer',
  'checkTransferCaptured',
] as const;
export type TransferActivity = (typeof TRANSFER_ACTIVITIES)[number];

/** A user's or an operator's message to a running transfer. */
export type TransferMessage =
  'confirm_right' | 'confirm_wrong' | 'cancel' | 'retry_compensation' | 'resolve_as_completed' | 'terminate';
export const TRANSFER_MESSAGES: readonly TransferMessage[] = [
  'confirm_right',
  'confirm_wrong',
  'cancel',
  'retry_compensation',
  'resolve_as_completed',
  'terminate',
];

/** The transfer statuses a message may wait for before it is sent. */
export type MessageTrigger = 'start' | 'awaiting_confirmation' | 'processing' | 'needs_attention';

export interface ScheduledMessage {
  /** Sent once the transfer shows this status (or right away for `start`)… */
  at: MessageTrigger;
  /** …and this many ms later. */
  delay_ms: number;
  message: TransferMessage;
}

/** One transfer's schedule: its amount, how well funded the payer is, faults and messages. */
export interface TransferSchedule {
  workflow: 'transfer';
  /** Minor units; at or above `STEP_UP_THRESHOLD` the transfer asks for an OTP. */
  amount: number;
  /** Minor units deposited into the payer's fresh wallet before the transfer. */
  funded: number;
  faults: Partial<Record<TransferActivity, Outcome[]>>;
  messages: ScheduledMessage[];
}

/** The step-up threshold the fuzzer's worker runs with (TRANSFER_STEP_UP_THRESHOLD). */
export const STEP_UP_THRESHOLD = 100_000;

/** Domain refusals each activity can answer (the codes its upstream really uses). */
const REFUSALS: Record<TransferActivity, readonly string[]> = {
  reserveTransfer: ['insufficient_funds', 'limit_exceeded', 'wallet_frozen', 'transfer_released'],
  sendStepUpOtp: ['otp_cooldown', 'not_authorized'],
  verifyStepUpOtp: ['otp_invalid', 'otp_expired', 'otp_exhausted'],
  captureTransfer: ['wallet_frozen', 'hold_not_active'],
  // `hold_already_captured` on a hold that was not captured: the operator's resolve must then
  // find no capture in the journal (not_captured) and the transfer go on waiting.
  releaseTransfer: ['wallet_frozen', 'hold_already_captured'],
  checkTransferCaptured: ['not_authorized'],
};

/**
 * Which outcomes an activity can draw. `down` only where a round ends it within the schedule's
 * short timers (the capture and release rounds, `wallet_round_ms`); elsewhere it would wait out
 * the presets' minutes.
 */
const CAN_BE_DOWN: ReadonlySet<TransferActivity> = new Set(['captureTransfer', 'releaseTransfer']);

export function outcomeArbitrary(activity: TransferActivity): fc.Arbitrary<Outcome> {
  const choices: fc.WeightedArbitrary<Outcome>[] = [
    { weight: 6, arbitrary: fc.constant({ kind: 'ok' as const }) },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 1, max: 2 }).map((times) => ({ kind: 'retryable' as const, times })),
    },
    { weight: 2, arbitrary: fc.constant({ kind: 'lost_after' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'lost_before' as const }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...REFUSALS[activity]).map((code) => ({ kind: 'refusal' as const, code })),
    },
    {
      weight: 2,
      arbitrary: fc.boolean().map((after_work) => ({ kind: 'crash' as const, after_work })),
    },
  ];
  if (CAN_BE_DOWN.has(activity))
    choices.push({ weight: 2, arbitrary: fc.constant({ kind: 'down' as const }) });
  return fc.oneof(...choices);
}

/** Most messages wait for a status where they mean something; some arrive early or late on purpose. */
const messageArbitrary: fc.Arbitrary<ScheduledMessage> = fc.record({
  at: fc.oneof(
    { weight: 4, arbitrary: fc.constant<MessageTrigger>('awaiting_confirmation') },
    { weight: 2, arbitrary: fc.constant<MessageTrigger>('needs_attention') },
    { weight: 1, arbitrary: fc.constant<MessageTrigger>('start') },
    { weight: 1, arbitrary: fc.constant<MessageTrigger>('processing') },
  ),
  delay_ms: fc.integer({ min: 0, max: 1500 }),
  message: fc.oneof(
    { weight: 5, arbitrary: fc.constant<TransferMessage>('confirm_right') },
    { weight: 2, arbitrary: fc.constant<TransferMessage>('confirm_wrong') },
    { weight: 2, arbitrary: fc.constant<TransferMessage>('cancel') },
    { weight: 2, arbitrary: fc.constant<TransferMessage>('retry_compensation') },
    { weight: 1, arbitrary: fc.constant<TransferMessage>('resolve_as_completed') },
    { weight: 1, arbitrary: fc.constant<TransferMessage>('terminate') },
  ),
});

/**
 * A transfer schedule. Amounts fall on both sides of the step-up threshold; the payer is
 * funded short of the amount (a real `insufficient_funds`), exactly, or with room to spare.
 * Faults are listed for a random subset of the activities, up to three calls each.
 */
export const transferScheduleArbitrary: fc.Arbitrary<TransferSchedule> = fc
  .record({
    amount: fc.oneof(
      fc.integer({ min: 1, max: STEP_UP_THRESHOLD - 1 }),
      fc.integer({ min: STEP_UP_THRESHOLD, max: 3 * STEP_UP_THRESHOLD }),
    ),
    funding: fc.constantFrom('short', 'exact', 'ample'),
    faults: fc.record(
      Object.fromEntries(
        TRANSFER_ACTIVITIES.map((a) => [a, fc.array(outcomeArbitrary(a), { maxLength: 3 })]),
      ) as Record<TransferActivity, fc.Arbitrary<Outcome[]>>,
      { requiredKeys: [] },
    ),
    messages: fc.array(messageArbitrary, { maxLength: 4 }),
  })
  .map(({ amount, funding, faults, messages }) => ({
    workflow: 'transfer' as const,
    amount,
    funded: funding === 'short' ? amount - 1 : funding === 'exact' ? amount : amount * 2,
    faults,
    messages,
  }));
