/**
 * Sign-up: the password is parked with AuthService, then `onboardUserWorkflow` creates the user
 * and their default wallet; the caller waits for it up to `WORKFLOW_WAIT_MS`.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, isGrpcDeadlineError } from '@temporalio/client';
import type { Context } from 'hono';
import { ProblemError } from '../../lib/problem.js';
import { onboardUserStartOptions, type OnboardUserResult } from '../../workflows/onboarding-contract.js';
import { onboardUserWorkflow } from '../../workflows/onboard-user-workflow.js';
import { applicationFailureType, domainStatus } from '../http/errors.js';
import { unwrap } from '../http/forward.js';
import { propagationHeaders, type GatewayEnv } from '../http/request-context.js';
import type { Upstream } from '../http/upstream.js';
import type { Orchestrator } from '../temporal/orchestrator.js';
import { withinDeadline } from '../temporal/idempotency.js';

export interface RegistrationRequest {
  email: string;
  password: string;
  phone?: string | undefined;
  currency?: string | undefined;
}

/** Registers a user: the new user and wallet, or a problem (AuthService's refusal, the saga's code). */
export type Register = (c: Context<GatewayEnv>, body: RegistrationRequest) => Promise<OnboardUserResult>;

export function createRegistration(deps: {
  auth: Upstream;
  /** The gateway's own client_credentials token: `/internal/registrations` is not public. */
  serviceToken: () => Promise<string>;
  orchestrator: Orchestrator;
}): Register {
  const { auth, serviceToken } = deps;
  const { temporal, taskQueue, rpcMs, waitMs } = deps.orchestrator;
  return async (c, body) => {
    // The password goes to AuthService only; the workflow sees just the registration id.
    const parked = await auth.client.request<{ registration_id: string }>('POST', '/internal/registrations', {
      body: { email: body.email, password: body.password, ...(body.phone ? { phone: body.phone } : {}) },
      idempotencyKey: `gateway:register:${randomUUID()}`,
      headers: {
        ...propagationHeaders(c),
        'x-forwarded-for': c.var.clientIp,
        authorization: `Bearer ${await serviceToken()}`,
      },
    });
    const { registration_id } = unwrap(auth.name, parked);
    const handle = await withinDeadline(temporal, rpcMs, () =>
      temporal.workflow.start(onboardUserWorkflow, {
        ...onboardUserStartOptions({ registration_id, currency: body.currency ?? 'USD' }),
        taskQueue,
        memo: { request_id: c.var.requestId, traceparent: c.var.traceparent },
      }),
    );
    try {
      return await temporal.withDeadline(Date.now() + waitMs, () => handle.result());
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        const code = applicationFailureType(err) ?? 'onboarding_failed';
        throw new ProblemError(domainStatus(code) ?? 422, code, 'registration could not be completed');
      }
      if (isGrpcDeadlineError(err)) {
        throw new ProblemError(
          504,
          'onboarding_timeout',
          'registration is taking longer than expected; try logging in shortly',
        );
      }
      throw err;
    }
  };
}
