/**
 * The transfer's fault schedule: an amount on either side of the step-up threshold, how well
 * the payer is funded, the faults of its activities, and the messages a user or an operator
 * sends at chosen points.
 */
import fc from 'fast-check';
import { faultsArbitrary, STEP_UP_THRESHOLD, type Outcome } from './fault-schedule.js';

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

/** `down` for a whole round: the capture and release rounds (`wallet_round_ms`) end it. */
const CAN_BE_DOWN: ReadonlySet<TransferActivity> = new Set(['captureTransfer', 'releaseTransfer']);

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
    faults: faultsArbitrary(TRANSFER_ACTIVITIES, REFUSALS, CAN_BE_DOWN),
    messages: fc.array(messageArbitrary, { maxLength: 4 }),
  })
  .map(({ amount, funding, faults, messages }) => ({
    workflow: 'transfer' as const,
    amount,
    funded: funding === 'short' ? amount - 1 : funding === 'exact' ? amount : amount * 2,
    faults,
    messages,
  }));
