/** Steps of depositWorkflow (admin/service deposits) and its audit record. */
import type { HttpClient } from '../lib/http-client.js';
import type { AuditEntry } from './transfer-activities.js';
import { writeAudit } from './transfer-activities.js';
import type { Wallet } from './upstream-types.js';
import { callUpstream, currentAttempt, idempotencyKey } from './upstream.js';

export interface DepositActivityDeps {
  wallet: HttpClient;
}

export interface DepositInput {
  wallet_id: string;
  amount: string;
  currency: string;
  reference: string;
}

export interface DepositResult {
  transaction_id: string;
  wallet: Wallet;
  /** The attempt that got the answer (shown in the audit trace). */
  attempt: number;
}

export function createDepositActivities(deps: DepositActivityDeps) {
  /** Credits the wallet from the funding account (one balanced journal transaction). */
  async function depositFunds(input: DepositInput): Promise<DepositResult> {
    const res = await callUpstream<Omit<DepositResult, 'attempt'>>(
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

  /** Appends audit-trace entries for workflows other than transfers (deposit, onboarding). */
  async function recordAuditTrace(input: { entries: AuditEntry[] }): Promise<void> {
    await writeAudit(deps.wallet, input.entries);
  }

  return { depositFunds, recordAuditTrace };
}
