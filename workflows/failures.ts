/**
 * Reading Temporal failures inside workflow code: the domain `type` an activity reported, a
 * human message for the `Transfer.steps[].error` field, and the attempt that produced it.
 */
import { ActivityFailure, TimeoutFailure } from '@temporalio/common';
import { applicationFailureOf, findCause } from '../lib/failures.js';

/** The failure `type` (a domain code such as `insufficient_funds`), when there is one. */
export function failureType(err: unknown): string | undefined {
  return applicationFailureOf(err)?.type ?? undefined;
}

/** First detail object of the activity's failure (attempts left, limits…). */
export function failureDetails(err: unknown): Record<string, unknown> {
  const details = applicationFailureOf(err)?.details?.[0];
  return typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : {};
}

/** The attempt that produced the failure, as reported by the activity. */
export function failureAttempt(err: unknown): number | undefined {
  const attempt = failureDetails(err).attempt;
  return typeof attempt === 'number' ? attempt : undefined;
}

/** A short, operator-readable reason. */
export function failureMessage(err: unknown): string {
  const app = applicationFailureOf(err);
  if (app) return app.message;
  const timeout = findCause(err, (e): e is TimeoutFailure => e instanceof TimeoutFailure);
  if (timeout) return `timed out (${String(timeout.timeoutType).toLowerCase()})`;
  if (err instanceof ActivityFailure) return `${err.activityType} failed: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
