/**
 * Walking an error's `.cause` chain. Temporal wraps the failure that matters (an activity's
 * ApplicationFailure, a timeout, a gRPC status) in one to three layers — ActivityFailure,
 * WorkflowFailedError, WorkflowUpdateFailedError — so workflows and the gateway both look
 * through the chain for it. Deterministic and free of Node imports: the workflow bundle
 * includes this module.
 */
import { ApplicationFailure } from '@temporalio/common';

/** Links followed at most: Temporal's chains are 2–4 deep; the bound guards against a cycle. */
const MAX_DEPTH = 8;

/** The error and its causes, outermost first; stops at the first cause that is not an Error. */
export function* causeChain(err: unknown): Generator<Error> {
  let current: unknown = err;
  for (let depth = 0; depth < MAX_DEPTH && current instanceof Error; depth++) {
    yield current;
    current = current.cause;
  }
}

/** The outermost error of the chain that `match` accepts. */
export function findCause<T extends Error>(err: unknown, match: (e: Error) => e is T): T | undefined {
  for (const e of causeChain(err)) if (match(e)) return e;
  return undefined;
}

/** The outermost ApplicationFailure: the activity's or workflow's own error, not Temporal's wrapper. */
export function applicationFailureOf(err: unknown): ApplicationFailure | undefined {
  return findCause(err, (e): e is ApplicationFailure => e instanceof ApplicationFailure);
}
