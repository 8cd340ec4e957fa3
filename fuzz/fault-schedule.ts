/**
 * What the fuzzer generates for every workflow: a fault schedule. For every activity of a
 * workflow, the outcome of each of its calls in order (a call is one activity invocation with all
 * its retries; the calls beyond the list succeed), plus what the workflow's own schedule adds
 * (messages from a user or an operator, amounts: `<workflow>-schedule.ts`). Plain JSON, so a
 * shrunk failing schedule is written to a file and replayed as it is.
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

/** The step-up threshold the fuzzer's worker runs with (TRANSFER_STEP_UP_THRESHOLD). */
export const STEP_UP_THRESHOLD = 100_000;

/**
 * One call's outcome, for an activity that can refuse with `refusals` (the codes its upstream
 * really answers) and, when `canBeDown`, be down for a whole round: only where a round ends it
 * within a schedule's short timers; elsewhere it would wait out the presets' minutes.
 */
export function outcomeArbitrary(refusals: readonly string[], canBeDown: boolean): fc.Arbitrary<Outcome> {
  const choices: fc.WeightedArbitrary<Outcome>[] = [
    { weight: 6, arbitrary: fc.constant({ kind: 'ok' as const }) },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 1, max: 2 }).map((times) => ({ kind: 'retryable' as const, times })),
    },
    { weight: 2, arbitrary: fc.constant({ kind: 'lost_after' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'lost_before' as const }) },
  ];
  // The order of the choices is part of what a seed draws (fuzz/planted-bug.test.ts relies on it).
  if (refusals.length > 0)
    choices.push({
      weight: 1,
      arbitrary: fc.constantFrom(...refusals).map((code) => ({ kind: 'refusal' as const, code })),
    });
  choices.push({
    weight: 2,
    arbitrary: fc.boolean().map((after_work) => ({ kind: 'crash' as const, after_work })),
  });
  if (canBeDown) choices.push({ weight: 2, arbitrary: fc.constant({ kind: 'down' as const }) });
  return fc.oneof(...choices);
}

/**
 * Faults for a random subset of `activities`, up to three calls each: `refusals[a]` are the
 * codes activity `a` may refuse with, `canBeDown` the activities that may be down for a round.
 */
export function faultsArbitrary<A extends string>(
  activities: readonly A[],
  refusals: Record<A, readonly string[]>,
  canBeDown: ReadonlySet<A> = new Set(),
): fc.Arbitrary<Partial<Record<A, Outcome[]>>> {
  return fc.record(
    Object.fromEntries(
      activities.map((a) => [a, fc.array(outcomeArbitrary(refusals[a], canBeDown.has(a)), { maxLength: 3 })]),
    ) as Record<A, fc.Arbitrary<Outcome[]>>,
    { requiredKeys: [] },
  );
}
