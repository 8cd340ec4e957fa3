/**
 * The hold-expiry sweep's fault schedule: holds placed through WalletService's reserve with
 * short expiries (and some long ones that must survive), a transfer-like actor that captures or
 * releases some of them meanwhile, the sweeps the `hold-expiry` schedule would start (each may
 * be terminated by an operator), and the faults of each sweep's activity.
 */
import fc from 'fast-check';
import { faultsArbitrary, type Outcome } from './fault-schedule.js';

/** The sweep's one activity (activities/hold-expiry-activities.ts). */
export const HOLD_EXPIRY_ACTIVITIES = ['expireHolds'] as const;
export type HoldExpiryActivity = (typeof HOLD_EXPIRY_ACTIVITIES)[number];

/** Expiries short enough to pass within a schedule; `LONG_TTL_S` does not pass in it. */
export const SHORT_TTLS_S = [1, 2, 3] as const;
export const LONG_TTL_S = 600;

/** What a transfer-like actor does to a hold, `at_ms` after the holds are placed. */
export interface HoldActor {
  action: 'capture' | 'release';
  at_ms: number;
  /** The actor's first answer is lost: it sends the same request again under the same key. */
  answer_lost: boolean;
}

export interface PlannedHold {
  /** Minor units. */
  amount: number;
  /** `hold_ttl_seconds` of the reserve: 1 to 3 s, or `LONG_TTL_S`. */
  ttl_s: number;
  actor?: HoldActor;
}

/** One run of holdExpiryWorkflow, started `at_ms` after the holds are placed. */
export interface PlannedSweep {
  at_ms: number;
  /** An operator terminates the run this many ms after its start. */
  terminate_after_ms?: number;
}

export interface HoldExpirySchedule {
  workflow: 'hold-expiry';
  holds: PlannedHold[];
  /** Minor units deposited beyond the holds' sum. */
  spare: number;
  /** The sweeps, in the order of `at_ms`; the harness adds one last sweep after every expiry (the next tick). */
  sweeps: PlannedSweep[];
  /** Call i of `expireHolds` is the i-th sweep's activity (the last sweep included). */
  faults: Partial<Record<HoldExpiryActivity, Outcome[]>>;
}

/**
 * No domain refusal: `POST /internal/holds/expire` answers 200 or an outage (its only
 * refusal, a missing scope, is retried as one). No `down`: the activity's round is the
 * preset's 55 s, which no schedule waits out.
 */
const REFUSALS: Record<HoldExpiryActivity, readonly string[]> = { expireHolds: [] };

const actorArbitrary: fc.Arbitrary<HoldActor> = fc.record({
  action: fc.constantFrom('capture' as const, 'release' as const),
  at_ms: fc.integer({ min: 0, max: 4_000 }),
  answer_lost: fc.boolean(),
});

const holdArbitrary: fc.Arbitrary<PlannedHold> = fc.record(
  {
    amount: fc.integer({ min: 1, max: 50_000 }),
    ttl_s: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...SHORT_TTLS_S) },
      { weight: 1, arbitrary: fc.constant(LONG_TTL_S) },
    ),
    actor: actorArbitrary,
  },
  { requiredKeys: ['amount', 'ttl_s'] },
);

const sweepArbitrary: fc.Arbitrary<PlannedSweep> = fc.record(
  {
    at_ms: fc.integer({ min: 0, max: 4_000 }),
    terminate_after_ms: fc.integer({ min: 0, max: 1_500 }),
  },
  { requiredKeys: ['at_ms'] },
);

export const holdExpiryScheduleArbitrary: fc.Arbitrary<HoldExpirySchedule> = fc
  .record({
    holds: fc.array(holdArbitrary, { minLength: 1, maxLength: 5 }),
    spare: fc.constantFrom(0, 1, 10_000),
    sweeps: fc.array(sweepArbitrary, { maxLength: 3 }),
    faults: faultsArbitrary(HOLD_EXPIRY_ACTIVITIES, REFUSALS),
  })
  .map(({ holds, spare, sweeps, faults }) => ({
    workflow: 'hold-expiry' as const,
    holds,
    spare,
    sweeps: [...sweeps].sort((a, b) => a.at_ms - b.at_ms),
    faults,
  }));
