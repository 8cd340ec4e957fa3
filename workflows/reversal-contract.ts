/**
 * The public face of `reversalWorkflow`: its input, the `Reversal` view (docs/api.md), its
 * query and signal, its id and start options. The gateway imports these definitions.
 */
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Signed } from '../lib/workflow-input-signature.js';
import { TASK_QUEUE } from '../temporal-config/index.js';
import type * as workflows from './index.js';

/** The workflow type as Temporal reports it (`describe().type`, visibility's `WorkflowType`). */
export const REVERSAL_WORKFLOW_TYPE = 'reversalWorkflow' satisfies keyof typeof workflows;

export type ReversalStatus =
  'pending' | 'processing' | 'completed' | 'failed' | 'compensating' | 'needs_attention';

/** The `Reversal` object of the public API. Amounts are strings of digits (minor units). */
export interface Reversal {
  /** The attempt's workflow id ({@link reversalWorkflowId}). */
  id: string;
  transfer_id: string;
  /** 1 for the first reversal of the transfer; n after n − 1 refused ones ({@link ReversalInput.attempt}). */
  attempt: number;
  status: ReversalStatus;
  /** What was (or is being) moved back; absent until the destination's funds are held. */
  amount?: string;
  /** The transfer's amount (a partial reversal moves less). */
  transfer_amount?: string;
  currency?: string;
  allow_partial: boolean;
  reason: string;
  requested_by: string;
  /** The `reversal` journal transaction once completed. */
  transaction_id?: string;
  failure_code?: string;
  created_at: string;
  completed_at?: string;
}

export interface ReversalInput {
  transfer_id: string;
  reason: string;
  allow_partial: boolean;
  /** The admin's user id: kept with the reversal and in the audit trace. */
  requested_by: string;
  created_at: string;
  /**
   * Which attempt at reversing the transfer this is (absent: 1). A reversal that ended `failed`
   * moved nothing, so it can be asked again later (e.g. once the payee holds the amount again):
   * each attempt is its own workflow, started only after the previous one failed; WalletService
   * still moves a transfer's money back at most once.
   */
  attempt?: number;
}

/**
 * What the workflow is started with: the input signed by the gateway (`signWorkflowInput`, key
 * `WORKFLOW_INPUT_KEY`). A reversal moves money, so its first step refuses an input whose
 * signature does not verify (`not_authorized`) and nothing moves.
 */
export type SignedReversalInput = Signed<ReversalInput>;

/**
 * Workflow id of a transfer's reversal attempt: `reversal-<transfer id>` for the first (one per
 * transfer, whoever asks and with whatever key), `reversal-<transfer id>.attempt-<n>` for the
 * n-th after refusals (a `.` never appears in a transfer id, so no two transfers share an id).
 */
export function reversalWorkflowId(transferId: string, attempt = 1): string {
  return attempt === 1 ? `reversal-${transferId}` : `reversal-${transferId}.attempt-${attempt}`;
}

export const getReversal = defineQuery<Reversal>('getReversal');
/**
 * Operator action on a `needs_attention` reversal: try the step it waits on (the capture that got
 * no answer, or the release of its hold) again now, with the same request.
 */
export const retryReversalCompensation = defineSignal('retryReversalCompensation');

/** Start options: the id derived from the transfer and the attempt, never reused. */
export function reversalStartOptions(input: SignedReversalInput) {
  const attempt = input.attempt ?? 1;
  return {
    taskQueue: TASK_QUEUE,
    workflowId: reversalWorkflowId(input.transfer_id, attempt),
    args: [input] as [SignedReversalInput],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary:
      `Reversal of transfer ${input.transfer_id}` + (attempt === 1 ? '' : ` (attempt ${attempt})`),
    staticDetails: [
      `**Reversal** of transfer \`${input.transfer_id}\`` + (attempt === 1 ? '' : `, attempt ${attempt}`),
      `- requested by: \`${input.requested_by}\``,
      `- partial allowed: ${input.allow_partial}`,
    ].join('\n'),
  };
}
