/**
 * Stand-ins for the onboarding, deposit and reversal workflows, registered under the real names
 * on the harness's task queue (worker-workflows.ts), so their gateway routes can be tested
 * against a real Temporal server without the real activities. Transfers run the real
 * `transferWorkflow` on the fake activities instead.
 */
import { ApplicationFailure, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import {
  getReversal,
  reversalWorkflowId,
  type Reversal,
  type ReversalInput,
} from '../../workflows/reversal-contract.js';

export async function onboardUserWorkflow(input: { registration_id: string; currency: string }) {
  if (input.currency === 'CHF')
    throw ApplicationFailure.nonRetryable('no such currency here', 'currency_not_supported');
  return {
    user_id: uuid4(),
    wallet_id: uuid4(),
    status: 'active',
    registration: input.registration_id,
    workflow: workflowInfo().workflowId,
  };
}

export async function depositWorkflow(input: {
  wallet_id: string;
  amount: string;
  currency: string;
  reference: string;
  requested_by: string;
}) {
  if (input.reference === 'missing-wallet')
    throw ApplicationFailure.nonRetryable('no wallet', 'wallet_not_found');
  if (input.reference === 'taken-at-wallet')
    throw ApplicationFailure.nonRetryable('reference already used', 'duplicate_reference');
  return { transaction_id: uuid4(), wallet: { id: input.wallet_id, balance: { posted: input.amount } } };
}

/**
 * The reversal's stand-in: a reason `refuse:<code>` ends `failed` with that code, anything else
 * `completed` with the whole amount (the real one moves money through WalletService).
 */
export async function reversalWorkflow(input: ReversalInput & { signature: string }): Promise<Reversal> {
  const refused = /^refuse:([a-z_]+)$/.exec(input.reason)?.[1];
  const { signature: _signed, ...fields } = input;
  const view: Reversal = {
    ...fields,
    id: reversalWorkflowId(input.transfer_id, input.attempt),
    attempt: input.attempt ?? 1,
    status: refused ? 'failed' : 'completed',
    amount: '1000',
    transfer_amount: '1000',
    currency: 'USD',
    ...(refused ? { failure_code: refused } : { transaction_id: uuid4() }),
    completed_at: new Date(Date.now()).toISOString(),
  };
  setHandler(getReversal, () => view);
  return view;
}
