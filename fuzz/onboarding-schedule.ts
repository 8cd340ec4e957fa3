/**
 * The onboarding's fault schedule: the currency asked for, the faults of its four activities
 * (create user, create wallet, activate, and the compensation that disables), and what a user or
 * an operator does meanwhile: sign up again with the same email, start the same registration's
 * onboarding again, terminate it.
 */
import fc from 'fast-check';
import { faultsArbitrary, type Outcome } from './fault-schedule.js';

/** The onboarding's activities (activities/onboarding-activities.ts). */
export const ONBOARDING_ACTIVITIES = ['createUser', 'createWallet', 'activateUser', 'disableUser'] as const;
export type OnboardingActivity = (typeof ONBOARDING_ACTIVITIES)[number];

/**
 * - `sign_up_again`: the user sends the sign-up form again (the first answer was slow or lost):
 *   a new registration for the same email, onboarded as the gateway onboards it;
 * - `start_again`: the same registration's onboarding started again with the contract's start
 *   options (attaches to a running one; after it closed, a new run under the same id, as an
 *   operator re-running it would);
 * - `terminate`: an operator terminates the onboarding.
 */
export type OnboardingMessage = 'sign_up_again' | 'start_again' | 'terminate';

export interface OnboardingScheduledMessage {
  /** Sent this many ms after the onboarding started. */
  delay_ms: number;
  message: OnboardingMessage;
}

export interface OnboardingSchedule {
  workflow: 'onboarding';
  currency: 'USD' | 'EUR';
  faults: Partial<Record<OnboardingActivity, Outcome[]>>;
  messages: OnboardingScheduledMessage[];
}

/**
 * Refusals the upstreams really answer at each step: an expired registration; a currency the
 * wallet does not take; a user an administrator disabled meanwhile. The compensation's only
 * refusal (`user_not_found`) cannot happen to a user the first step created. No `down`: the
 * presets' rounds are minutes (5 and 10), longer than any schedule waits.
 */
const REFUSALS: Record<OnboardingActivity, readonly string[]> = {
  createUser: ['registration_not_found'],
  createWallet: ['validation_failed'],
  activateUser: ['user_disabled'],
  disableUser: [],
};

const messageArbitrary: fc.Arbitrary<OnboardingScheduledMessage> = fc.record({
  delay_ms: fc.integer({ min: 0, max: 3_000 }),
  message: fc.oneof(
    { weight: 2, arbitrary: fc.constant<OnboardingMessage>('sign_up_again') },
    { weight: 2, arbitrary: fc.constant<OnboardingMessage>('start_again') },
    { weight: 1, arbitrary: fc.constant<OnboardingMessage>('terminate') },
  ),
});

export const onboardingScheduleArbitrary: fc.Arbitrary<OnboardingSchedule> = fc
  .record({
    currency: fc.constantFrom('USD' as const, 'EUR' as const),
    faults: faultsArbitrary(ONBOARDING_ACTIVITIES, REFUSALS),
    messages: fc.array(messageArbitrary, { maxLength: 3 }),
  })
  .map(({ currency, faults, messages }) => ({
    workflow: 'onboarding' as const,
    currency,
    faults,
    messages: [...messages].sort((a, b) => a.delay_ms - b.delay_ms),
  }));
