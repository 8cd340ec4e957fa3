/** Steps of depositWorkflow (admin/service deposits) and its audit record. */
import type { HttpClient } from '../lib/http-client.js';
import { verifyWorkflowInput } from '../lib/workflow-input-signature.js';
import type { MovementAnswer } from '../wallet/wallet-api.js';
import type { SignedDepositInput } from '../workflows/deposit-contract.js';
import type { AuditEntry } from './transfer-activities.js';
import {
  callUpstream,
  currentAttempt,
  currentRunId,
  currentWorkflowId,
  domainFailure,
  idempotencyKey,
} from './upstream.js';

export interface DepositActivityDeps {
  wallet: HttpClient;
  /** `WORKFLOW_INPUT_KEY`, decoded: a deposit mints money, so only signed inputs credit. */
  workflowInputKey: Uint8Array;
}

/** The wallet's answer, and the attempt that got it (shown in the audit trace). */
export type DepositFundsResult = MovementAnswer & { attempt: number };

export function createDepositActivities(deps: DepositActivityDeps) {
  /**
   * Credits the wallet from the funding account (one balanced journal transaction). The input
   * must carry the gateway's signature: a deposit started on Temporal by anyone else is refused
   * `not_authorized` and credits nothing.
   */
  async function depositFunds(input: SignedDepositInput): Promise<DepositFundsResult> {
    if (!verifyWorkflowInput(input, deps.workflowInputKey)) {
      throw domainFailure('not_authorized', 'the deposit input is not signed by the gateway');
    }
    const res = await callUpstream<MovementAnswer>(
      deps.wallet,
      'POST',
      `/internal/wallets/${encodeURIComponent(input.wallet_id)}/deposits`,
      {
        body: { amount: input.amount, currency: input.currency, reference: input.reference },
        idempotencyKey: idempotencyKey('deposit'),
      },
    );
    return { transaction_id: res.transaction_id, wallet: res.wallet, attempt: currentAttempt() };
  }

  /**
   * Appends audit-trace entries of a workflow other than a transfer (a transfer's go with its
   * capture or release), one idempotency key per entry so a retry adds none twice.
   */
  async function recordAuditTrace(input: { entries: AuditEntry[] }): Promise<void> {
    const workflowId = currentWorkflowId();
    // Per run: a reset run (`temporal workflow reset`) records its own outcome, with its own
    // attempt and duration, instead of being refused the first run's key.
    const runId = currentRunId();
    for (const [i, entry] of input.entries.entries()) {
      await callUpstream(deps.wallet, 'POST', '/internal/audit-trace', {
        body: { workflow_id: workflowId, run_id: runId, ...entry },
        idempotencyKey: idempotencyKey(`audit:${runId}:${i}:${entry.step}:${entry.status}`),
      });
    }
  }

  return { depositFunds, recordAuditTrace };
}
