/**
 * The public face of `reversalWorkflow`: its input, the `Reversal` view (docs/api.md), its
 * query and signal, its id and start options. The gateway imports these definitions.
 */
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Signed } from '../lib/workflow-input-signature.js';
import { TASK_QUEUE } from '../temporal-config/index.js';

export type ReversalStatus =
  'pending' | 'processing' | 'completed' | 'failed' | 'compensating' | 'needs_attention';

/** The `Reversal` object of the public API. Amounts are strings of digits (minor units). */
export interface Reversal {
  id: string;
  transfer_id: string;
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
}

/**
 * What the workflow is started with: the input signed by the gateway (`signWorkflowInput`, key
 * `WORKFLOW_INPUT_KEY`). A reversal moves money, so its first step refuses an input whose
 * signature does not verify (`not_authorized`) and nothing moves.
 */
export type SignedReversalInput = Signed<ReversalInput>;

/** Workflow id of a transfer's reversal: one per transfer, whoever asks and with whatever key. */
export function reversalWorkflowId(transferId: string): string {
  return `reversal-${transferId}`;
}

export const getReversal = defineQuery<Reversal>('getReversal');
/** Operator action on a `needs_attention` reversal (its release failed): try the release again now. */
export const retryReversalCompensation = defineSignal('retryReversalCompensation');

/** Start options: the id derived from the transfer, never reused (a transfer is reversed at most once). */
export function reversalStartOptions(input: SignedReversalInput) {
  return {
    taskQueue: TASK_QUEUE,
    workflowId: reversalWorkflowId(input.transfer_id),
    args: [input] as [SignedReversalInput],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: `Reversal of transfer ${input.transfer_id}`,
    staticDetails: [
      `**Reversal** of transfer \`${input.transfer_id}\``,
      `- requested by: \`${input.requested_by}\``,
      `- partial allowed: ${input.allow_partial}`,
    ].join('\n'),
  };
}
