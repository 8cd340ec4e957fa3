import { status as grpcStatus } from '@grpc/grpc-js';
import type { ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ServiceError, isGrpcServiceError } from '@temporalio/client';
import { ApplicationFailure, NamespaceNotFoundError } from '@temporalio/common';
import { applicationFailureOf, causeChain, findCause } from '../../lib/failures.js';
import { UpstreamUnavailableError } from '../../lib/http-client.js';
import type { Logger } from '../../lib/logger.js';
import {
  createErrorHandler,
  malformedJsonProblem,
  problem,
  problemResponse,
  unsupportedMediaTypeProblem,
} from '../../lib/problem.js';
import type { NonRetryableErrorType } from '../../temporal-config/activity-options.js';
import type { TransferUpdateError } from '../../workflows/transfer-contract.js';

/** The codes a workflow reports in its failures: the domain refusals and the transfer's Update refusals. */
export type DomainCode = NonRetryableErrorType | TransferUpdateError;

/**
 * HTTP status of each code a workflow can fail with, one entry per code of the enums that own
 * them, so a new code does not compile until it is given its answer here. `undefined`: no
 * status of its own, the route's default (422 for a failed workflow, 409 for a refused Update).
 * Any other code (an upstream's, passed through by an activity) gets the route's default too,
 * so a new code never turns into a 500.
 */
const DOMAIN_STATUS: Record<DomainCode, number | undefined> = {
  validation_failed: 400,
  not_authorized: 403,
  wallet_not_found: 404,
  user_not_found: 404,
  registration_not_found: 404,
  wallet_frozen: 409,
  wallet_closed: 409,
  hold_already_captured: 409,
  hold_not_active: 409,
  not_awaiting_confirmation: 409,
  otp_verification_in_progress: 409,
  cannot_cancel: 409,
  insufficient_funds: 422,
  limit_exceeded: 422,
  currency_mismatch: 422,
  otp_invalid: 422,
  otp_expired: 422,
  otp_exhausted: 422,
  otp_failed: 422,
  idempotency_key_mismatch: 422,
  otp_cooldown: 429,
  upstream_unavailable: 503,
  hold_not_found: undefined,
  capture_exceeds_hold: undefined,
  reversal_not_possible: undefined,
  transfer_released: undefined,
  transfer_already_reserved: undefined,
  not_resolvable: undefined,
  not_captured: undefined,
};

/** The HTTP status of a workflow's failure code; undefined leaves it to the route's default. */
export function domainStatus(code: string): number | undefined {
  return Object.hasOwn(DOMAIN_STATUS, code) ? DOMAIN_STATUS[code as DomainCode] : undefined;
}

/** Extensions a workflow failure may carry that clients need (e.g. `attempts_left`); nothing else leaks. */
const SAFE_DETAILS = ['attempts_left'] as const;

export function applicationFailureDetails(err: unknown): Record<string, unknown> {
  const first: unknown = applicationFailureOf(err)?.details?.[0];
  if (!first || typeof first !== 'object') return {};
  const out: Record<string, unknown> = {};
  for (const key of SAFE_DETAILS) if (key in first) out[key] = (first as Record<string, unknown>)[key];
  return out;
}

const CODE = /^[a-z][a-z0-9_]{1,63}$/;

/** The `type` of the first ApplicationFailure in an error's cause chain (a workflow's domain code). */
export function applicationFailureType(err: unknown): string | undefined {
  return (
    findCause(
      err,
      (e): e is ApplicationFailure => e instanceof ApplicationFailure && !!e.type && CODE.test(e.type),
    )?.type ?? undefined
  );
}

/** gRPC status codes that mean "Temporal is not reachable or too slow right now". */
const GRPC_UNAVAILABLE: ReadonlySet<number> = new Set([
  grpcStatus.DEADLINE_EXCEEDED,
  grpcStatus.RESOURCE_EXHAUSTED,
  grpcStatus.UNAVAILABLE,
  grpcStatus.CANCELLED,
]);

function isTemporalOutage(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (isGrpcServiceError(e)) return GRPC_UNAVAILABLE.has(e.code);
    if (/connect|UNAVAILABLE|deadline/i.test(e.message) && e instanceof ServiceError) return true;
  }
  return false;
}

/**
 * The gateway's one error handler: outages of auth, wallet or Temporal become fast 503
 * problems naming the dependency (never its host), everything else goes to the shared handler.
 */
export function createGatewayErrorHandler(log: Logger): ErrorHandler {
  const shared = createErrorHandler(log);
  return (err, c) => {
    if (err instanceof UpstreamUnavailableError) {
      log.warn({ err: err.message, path: c.req.path }, 'upstream unavailable');
      return problemResponse(
        c,
        problem(503, 'upstream_unavailable', `the ${err.upstream} service is unavailable; retry later`),
        {
          'retry-after': '2',
        },
      );
    }
    if (err instanceof HTTPException && err.status === 415) {
      return problemResponse(c, unsupportedMediaTypeProblem());
    }
    if (err instanceof HTTPException && err.status === 400 && /malformed json/i.test(err.message)) {
      return problemResponse(c, malformedJsonProblem());
    }
    // A namespace the frontend does not know yet is also what a Temporal server answers in the
    // moments after a restart, before its namespace registry has loaded: nothing was started,
    // so the client may retry with the same Idempotency-Key. (A namespace that never appears is
    // a misconfiguration: readiness and this warning say so.)
    if (isTemporalOutage(err) || err instanceof ServiceError || err instanceof NamespaceNotFoundError) {
      log.warn({ err: err.message, path: c.req.path }, 'temporal unavailable');
      return problemResponse(
        c,
        problem(503, 'orchestrator_unavailable', 'the transaction coordinator is unavailable; retry later'),
        {
          'retry-after': '2',
        },
      );
    }
    return shared(err, c);
  };
}
