/**
 * Reading Temporal failures inside workflow code: the domain `type` an activity reported, a
 * human message for the `Transfer.steps[].error` field, and the attempt that produced it.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';

/** The innermost application failure: the activity's own error, not Temporal's wrapper. */
function applicationCause(err: unknown): ApplicationFailure | undefined {
  let current: unknown = err;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure) return current;
    current = current.cause;
  }
  return undefined;
}

/** The failure `type` (a domain code such as `insufficient_funds`), when there is one. */
export function failureType(err: unknown): string | undefined {
  return applicationCause(err)?.type ?? undefined;
}

/** First detail object of the activity's failure (attempts left, limits…). */
export function failureDetails(err: unknown): Record<string, unknown> {
  const details = applicationCause(err)?.details?.[0];
  return typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : {};
}

/** The attempt that produced the failure, as reported by the activity. */
export function failureAttempt(err: unknown): number | undefined {
  const attempt = failureDetails(err).attempt;
  return typeof attempt === 'number' ? attempt : undefined;
}

/** A short, operator-readable reason. */
export function failureMessage(err: unknown): string {
  const app = applicationCause(err);
  if (app) return app.message;
  let current: unknown = err;
  while (current instanceof Error) {
    if (current instanceof TimeoutFailure) return `timed out (${String(current.timeoutType).toLowerCase()})`;
    current = current.cause;
  }
  if (err instanceof ActivityFailure) return `${err.activityType} failed: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
