/**
 * How activities talk to AuthService and WalletService: one idempotency key per workflow step,
 * the activity's cancellation wired into the HTTP request, heartbeats while waiting, and one
 * rule for turning answers into Temporal failures — a 4xx with a domain `code` is a business
 * outcome (non-retryable, `type` = the code), everything else is an outage (retried).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { UpstreamUnavailableError, type HttpClient, type RequestOptions } from '../lib/http-client.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../temporal-config/activity-options.js';

/** Failure `type` of an outage: retried with backoff by the activity's retry policy. */
const UPSTREAM_UNAVAILABLE = 'upstream_unavailable';

/**
 * Statuses that say "try again later" rather than "no": the service is down or overloaded, or
 * our service token was refused (expired, keys rotating) — retrying fetches a fresh answer.
 * Unless the problem's `code` is a business answer (a 403 `not_authorized` from the wallet's
 * ownership check, a 429 `otp_cooldown`): that is the service's "no", never retried.
 */
const RETRYABLE_STATUSES = new Set([401, 403, 408, 425, 429]);
const DOMAIN_CODES: ReadonlySet<string> = new Set(NON_RETRYABLE_ERROR_TYPES);

/** `<workflowId>:<step>` — a retried activity repeats the same request, so money moves once. */
export function idempotencyKey(step: string): string {
  return `${currentWorkflowId()}:${step}`;
}

/** The workflow id of the running activity (keys and audit records carry it). */
export function currentWorkflowId(): string {
  return currentExecution().workflowId;
}

/** The run of the running activity's workflow (a reset or continue-as-new starts another). */
export function currentRunId(): string {
  return currentExecution().runId;
}

function currentExecution(): { workflowId: string; runId: string } {
  const execution = Context.current().info.workflowExecution;
  // Every orchestrator activity is scheduled by a workflow; a standalone run would have no
  // stable key, and sending a random one would defeat idempotency.
  if (!execution) throw new Error('orchestrator activities must run inside a workflow');
  return execution;
}

/** The attempt number of the running activity, reported back so the workflow can show it. */
export function currentAttempt(): number {
  return Context.current().info.attempt;
}

/** A domain refusal: never retried, `type` is the stable code the workflow branches on. */
export function domainFailure(
  code: string,
  message: string,
  details: Record<string, unknown> = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: code,
    nonRetryable: true,
    details: [{ ...details, attempt: currentAttempt() }],
  });
}

/**
 * Calls an upstream and returns the success body. Throws a non-retryable failure typed with the
 * problem's `code` for business refusals, and a retryable `upstream_unavailable` otherwise.
 */
export async function callUpstream<T>(
  client: HttpClient,
  method: string,
  path: string,
  options: Omit<RequestOptions, 'signal'> = {},
): Promise<T> {
  const ctx = Context.current();
  const stopHeartbeat = keepHeartbeating(ctx);
  try {
    const res = await client.request<T>(method, path, { ...options, signal: ctx.cancellationSignal });
    if (res.ok) return res.data;
    const { problem } = res;
    if (res.status >= 500 || (RETRYABLE_STATUSES.has(res.status) && !DOMAIN_CODES.has(problem.code))) {
      throw ApplicationFailure.create({
        message: `${client.name} ${method} ${path} answered ${res.status} ${problem.code}`,
        type: UPSTREAM_UNAVAILABLE,
        details: [{ status: res.status, code: problem.code, attempt: ctx.info.attempt }],
      });
    }
    const { type: _type, title: _title, detail, code, status, ...extensions } = problem;
    throw domainFailure(code, `${client.name}: ${detail || code}`, { status, ...extensions });
  } catch (err) {
    if (err instanceof UpstreamUnavailableError) {
      throw ApplicationFailure.create({
        message: err.message,
        type: UPSTREAM_UNAVAILABLE,
        details: [{ attempt: ctx.info.attempt }],
      });
    }
    throw err;
  } finally {
    stopHeartbeat();
  }
}

/**
 * Heartbeats while a request is in flight when the activity has a heartbeat timeout, so a long
 * upstream call is not mistaken for a dead worker (the SDK throttles the actual RPCs).
 */
function keepHeartbeating(ctx: Context): () => void {
  const timeoutMs = ctx.info.heartbeatTimeoutMs;
  if (!timeoutMs) return () => undefined;
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), Math.max(100, Math.floor(timeoutMs / 3)));
  return () => clearInterval(timer);
}
