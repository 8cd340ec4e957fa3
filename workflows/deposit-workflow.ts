/**
 * depositWorkflow — an admin or service deposit into a wallet: one balanced journal
 * transaction in WalletService (from the funding account), then its audit-trace entry. Only an
 * input the gateway signed credits anything.
 */
import { ApplicationFailure } from '@temporalio/common';
import { log, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import { recordActivityOptions, serviceCallActivityOptions } from '../temporal-config/activity-options.js';
import type { DepositResult, SignedDepositInput } from './deposit-contract.js';
import { failureAttempt, failureMessage, failureType } from './failures.js';

type Activities = ReturnType<typeof activities.createActivities>;

const { depositFunds } = proxyActivities<Activities>(serviceCallActivityOptions);
const { recordAuditTrace } = proxyActivities<Activities>(recordActivityOptions);

export async function depositWorkflow(input: SignedDepositInput): Promise<DepositResult> {
  setCurrentDetails(
    `**depositing** ${input.amount} ${input.currency} into \`${input.wallet_id}\` (ref ${input.reference})`,
  );
  const started = Date.now();
  let result;
  try {
    // The whole signed input: the activity verifies the signature before crediting.
    result = await depositFunds(input);
  } catch (err) {
    setCurrentDetails(`**failed** deposit into \`${input.wallet_id}\`: ${failureMessage(err)}`);
    await audit({
      step: 'deposit',
      status: 'failed',
      attempt: failureAttempt(err) ?? 1,
      duration_ms: Date.now() - started,
      error: failureMessage(err),
    });
    throw ApplicationFailure.nonRetryable(failureMessage(err), failureType(err) ?? 'internal_error');
  }
  await audit({
    step: 'deposit',
    status: 'completed',
    attempt: result.attempt,
    duration_ms: Date.now() - started,
  });
  setCurrentDetails(
    `**done** deposited ${input.amount} ${input.currency} into \`${input.wallet_id}\` (tx ${result.transaction_id})`,
  );
  return {
    transaction_id: result.transaction_id,
    wallet_id: result.wallet.id,
    amount: input.amount,
    currency: input.currency,
    balance: result.wallet.balance,
  };
}

/** The deposit's outcome is decided; a missing audit entry is logged, not turned into a failure. */
async function audit(entry: activities.AuditEntry): Promise<void> {
  try {
    await recordAuditTrace({ entries: [entry] });
  } catch (err) {
    log.error('audit trace not written', { step: entry.step, error: failureMessage(err) });
  }
}
