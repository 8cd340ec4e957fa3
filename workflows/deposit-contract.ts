/**
 * The public face of `depositWorkflow`: its type name, input, result, id and start options. The
 * gateway (`/v1/admin/wallets/:id/deposits`) and the deposit activity import these definitions,
 * so the two sides cannot drift.
 */
import type { Signed } from '../lib/workflow-input-signature.js';
import { TASK_QUEUE } from '../temporal-config/index.js';
import type * as workflows from './index.js';

/** The workflow type as Temporal reports it (`describe().type`, visibility's `WorkflowType`). */
export const DEPOSIT_WORKFLOW_TYPE = 'depositWorkflow' satisfies keyof typeof workflows;

export interface DepositInput {
  wallet_id: string;
  amount: string;
  currency: string;
  /** External reference (bank transfer id, admin ticket): the deposit's natural key. */
  reference: string;
  /** Who asked: an admin user id or `client:<client_id>`. */
  requested_by: string;
}

/**
 * What the workflow is started with: the input signed by the gateway (`signWorkflowInput`,
 * key `WORKFLOW_INPUT_KEY`). A deposit mints money, so the credit step refuses an input whose
 * signature does not verify (`not_authorized`) and nothing is credited.
 */
export type SignedDepositInput = Signed<DepositInput>;

export interface DepositResult {
  transaction_id: string;
  wallet_id: string;
  amount: string;
  currency: string;
  balance: { posted: string; pending: string; available: string };
}

/** Workflow id of a deposit: one per wallet and reference, so a repeated request deposits once. */
export function depositWorkflowId(walletId: string, reference: string): string {
  return `deposit-${walletId}-${reference}`;
}

/**
 * Start options of a deposit: the id from wallet and reference (a bank transfer reported twice
 * credits once). The caller adds its memo and the reuse policy it needs; spread into
 * `client.workflow.start(depositWorkflow, { ...depositStartOptions(input), … })`.
 */
export function depositStartOptions(input: SignedDepositInput) {
  return {
    taskQueue: TASK_QUEUE,
    workflowId: depositWorkflowId(input.wallet_id, input.reference),
    args: [input] as [SignedDepositInput],
  };
}
