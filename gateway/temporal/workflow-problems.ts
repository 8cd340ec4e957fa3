/**
 * The answers every workflow-backed route gives the same way (transfers, withdrawals): Temporal
 * too slow to answer, a key reused for another request, a workflow that closed while it was
 * asked, and the one rule for putting a value into a visibility query.
 */
import { isGrpcServiceError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { ProblemError } from '../../lib/problem.js';

/** gRPC status codes Temporal answers an Update of a workflow that has already closed with. */
const GRPC_NOT_FOUND = 5;
const GRPC_FAILED_PRECONDITION = 9;

/**
 * 503 with `Retry-After`: Temporal did not answer in time. Nothing is lost — the same request
 * retried (same Idempotency-Key, same Update id) reattaches to what was started.
 */
export function orchestratorBusy(): ProblemError {
  return new ProblemError(
    503,
    'orchestrator_unavailable',
    'the transaction coordinator is busy; retry later',
    {},
    { 'retry-after': '2' },
  );
}

/** 422: the Idempotency-Key already started a workflow for another request body. */
export function idempotencyKeyMismatch(): ProblemError {
  return new ProblemError(
    422,
    'idempotency_key_mismatch',
    'this Idempotency-Key was already used with a different request body',
  );
}

/**
 * True when an Update failed because its workflow has closed: the SDK's not-found error, or
 * the server's NOT_FOUND ("workflow execution already completed") or FAILED_PRECONDITION.
 */
export function isClosedWorkflowError(err: unknown): boolean {
  return (
    err instanceof WorkflowNotFoundError ||
    (isGrpcServiceError(err) && [GRPC_NOT_FOUND, GRPC_FAILED_PRECONDITION].includes(Number(err.code)))
  );
}

/**
 * A verified value (a principal id, a close time) as a visibility query literal. Anything that
 * could escape the quotes is refused rather than escaped.
 */
export function visibilityLiteral(value: string): string {
  if (!/^[A-Za-z0-9:._@-]{1,128}$/.test(value))
    throw new ProblemError(400, 'bad_request', 'unsupported principal id');
  return `'${value}'`;
}
