/**
 * The public face of `onboardUserWorkflow`: its type name, input, result, id and start options.
 * The gateway's registration route imports these definitions, so the two sides cannot drift.
 */
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { TASK_QUEUE } from '../temporal-config/index.js';
import type * as workflows from './index.js';

/** The workflow type as Temporal reports it (`describe().type`, visibility's `WorkflowType`). */
export const ONBOARD_USER_WORKFLOW_TYPE = 'onboardUserWorkflow' satisfies keyof typeof workflows;

export interface OnboardUserInput {
  registration_id: string;
  currency: string;
}

/**
 * The new user and their default wallet. An email that was already registered answers the same
 * shape (with a random `wallet_id`), so the edge cannot enumerate accounts.
 */
export interface OnboardUserResult {
  user_id: string;
  wallet_id: string;
  status: string;
}

/** Workflow id of an onboarding: one per registration, so a retried sign-up attaches to it. */
export function onboardUserWorkflowId(registrationId: string): string {
  return `onboard-${registrationId}`;
}

/**
 * Start options of an onboarding: the id from the registration, and a start that finds the
 * onboarding already running attaches to it (`USE_EXISTING`) instead of failing. Spread into
 * `client.workflow.start(onboardUserWorkflow, { ...onboardUserStartOptions(input), … })`.
 */
export function onboardUserStartOptions(input: OnboardUserInput) {
  return {
    taskQueue: TASK_QUEUE,
    workflowId: onboardUserWorkflowId(input.registration_id),
    args: [input] as [OnboardUserInput],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  };
}
