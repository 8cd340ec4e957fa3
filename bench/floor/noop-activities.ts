/**
 * No-op implementations of every activity the orchestrator registers, for the floor worker:
 * same names (read from `createActivities` itself, so a renamed or added activity is covered
 * without editing this file), no I/O, and a result that is well formed for every step — the
 * union of the fields the transfer steps return (`attempt`, `step_up_required: false`,
 * `hold_id`, `transaction_id`, `captured: true`, …), so the workflow takes its ordinary happy
 * path: without a step-up the reserve captures in the same call (one local activity), as
 * WalletService answers since migration 0046.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { createActivities } from '../../activities/index.js';

type Deps = Parameters<typeof createActivities>[0];

/** An HTTP client that must never be called: no-op activities make no calls. */
const unreachable = new Proxy(
  {},
  {
    get: () => () => {
      throw new Error('no-op activities make no calls');
    },
  },
);

/** The names of every activity the real worker registers. */
export function activityNames(): string[] {
  const deps = {
    auth: unreachable,
    wallet: unreachable,
    config: { transferStepUpThreshold: 100_000n },
  } as unknown as Deps;
  return Object.keys(createActivities(deps));
}

/** A result every transfer step can read its fields from. */
function wellFormedResult(): Record<string, unknown> {
  const id = randomUUID();
  return {
    attempt: Context.current().info.attempt,
    step_up_required: false,
    captured: true,
    hold_id: id,
    transaction_id: id,
    released: true,
    challenge_id: id,
    expires_at: new Date(Date.now() + 600_000).toISOString(),
  };
}

export function noopActivities(): Record<string, () => Promise<Record<string, unknown>>> {
  return Object.fromEntries(activityNames().map((name) => [name, async () => wellFormedResult()]));
}
