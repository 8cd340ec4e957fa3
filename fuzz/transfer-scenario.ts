/**
 * Runs one transfer schedule end to end: a fresh payer (funded as the schedule says) and payee,
 * the signed input with short timers, the faults planned around the real activities, the
 * messages sent as the transfer reaches their trigger, a parked transfer finished the way an
 * operator would (fault fixed, `retryCompensation` or `resolveAsCompleted`), then the money
 * invariants against WalletService's tables.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { LIVE_WORKFLOW_INPUT_KEY } from '../activities/testing/live-upstreams.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import {
  cancelTransfer,
  confirmOtp,
  getTransfer,
  resolveAsCompleted,
  retryCompensation,
  TERMINAL_STATUSES,
  transferStartOptions,
  type TransferInput,
} from '../workflows/transfer-contract.js';
import { transferWorkflow } from '../workflows/transfer-workflow.js';
import type { ScenarioContext, ScenarioResult, WorkflowFuzzer } from './fuzzer.js';
import {
  answerOf,
  closeSchedule,
  endName,
  findings,
  fundedWallet,
  fuzzInitiator,
  otpCode,
  settleWithOperator,
  waitForTrigger,
  watchRun,
  withTimeout,
} from './scenario-support.js';
import {
  moneyInvariants,
  outcomeInvariants,
  parkedInvariants,
  readTransferLedger,
  terminatedInvariants,
} from './transfer-invariants.js';
import {
  transferScheduleArbitrary,
  type TransferMessage,
  type TransferSchedule,
} from './transfer-schedule.js';

/** The input's own timers, short so that a schedule takes seconds (no time-skipping server here). */
export const FUZZ_TIMERS = {
  otp_timeout_ms: 6_000,
  attention_retry_ms: 1_000,
  wallet_round_ms: 2_500,
} as const;

/** Longest a schedule may take before it counts as stuck. */
const SCHEDULE_BUDGET_MS = 120_000;
const POLL_MS = 250;
/** Statuses after which a message's trigger status will not come: it is sent at once. */
const SETTLED = [...TERMINAL_STATUSES, 'needs_attention'] as const;

export async function runTransferSchedule(
  ctx: ScenarioContext,
  schedule: TransferSchedule,
): Promise<ScenarioResult> {
  const { auth, wallet } = ctx.upstreams;
  const user = await auth.createUser();
  const from = await fundedWallet(ctx.upstreams, user.id, schedule.funded);
  const to = await fundedWallet(ctx.upstreams, randomUUID(), 0);
  const transferId = randomUUID();
  const input: TransferInput = signWorkflowInput(
    {
      transfer_id: transferId,
      from_wallet_id: from,
      to_wallet_id: to,
      amount: String(schedule.amount),
      currency: 'USD',
      description: 'fuzz',
      initiated_by: fuzzInitiator(user.id),
      request_hash: 'sha256:fuzz',
      created_at: new Date().toISOString(),
      ...FUZZ_TIMERS,
    },
    LIVE_WORKFLOW_INPUT_KEY,
  );
  const options = transferStartOptions(input);
  const workflowId = options.workflowId;
  ctx.injector.plan(workflowId, schedule.faults);
  const handle = await ctx.client.workflow.start(transferWorkflow, { ...options, taskQueue: ctx.taskQueue });
  const run = watchRun(handle, getTransfer, POLL_MS);
  const deadline = Date.now() + SCHEDULE_BUDGET_MS;
  const found = findings();
  const ids = { transferId, from, to };
  const amount = BigInt(schedule.amount);
  const funded = BigInt(schedule.funded);

  try {
    for (const message of schedule.messages) {
      if (!(await waitForTrigger(run, message, deadline, SETTLED))) break;
      found.messages.push(
        `${message.message}:${await answerOf(() => send(ctx, handle, message.message, user.email))}`,
      );
    }

    const { end, parked } = await settleWithOperator(run, deadline, {
      async parked(state) {
        const ledger = await readTransferLedger(wallet, ids);
        found.check(parkedInvariants(state, ledger), 'parked');
        found.check(moneyInvariants(ledger, amount, funded), 'parked');
      },
      // The operator fixes the fault, then asks the transfer to try again (or resolves it).
      async operate(state) {
        ctx.injector.heal(workflowId);
        const onCapturedHold = state.steps.some(
          (s) => s.status === 'compensation_failed' && s.error_code === 'hold_already_captured',
        );
        if (
          onCapturedHold &&
          (await answerOf(() => send(ctx, handle, 'resolve_as_completed', user.email))) === 'accepted'
        )
          return;
        await handle.signal(retryCompensation);
      },
    });

    const ledger = await readTransferLedger(wallet, ids);
    found.check(moneyInvariants(ledger, amount, funded));
    if (end.kind === 'terminated') found.check(terminatedInvariants(ledger, amount));
    else if (end.kind === 'stuck') found.stuck('the transfer', SCHEDULE_BUDGET_MS, end.last);
    else found.check(outcomeInvariants(end.view, ledger, amount));
    const history = end.kind === 'stuck' ? undefined : await handle.fetchHistory();
    return found.result({ workflowId, ended: endName(end), parked, history });
  } finally {
    await closeSchedule(ctx, { planned: [workflowId], runs: [handle], deadline });
  }
}

/** Sends one message (see `answerOf` for its answer). */
async function send(
  ctx: ScenarioContext,
  handle: WorkflowHandle<typeof transferWorkflow>,
  message: TransferMessage,
  email: string,
): Promise<string> {
  switch (message) {
    case 'confirm_right':
    case 'confirm_wrong': {
      const code = await otpCode(ctx.upstreams, email, message === 'confirm_right');
      await withTimeout(handle.executeUpdate(confirmOtp, { args: [{ code }] }));
      break;
    }
    case 'cancel':
      await withTimeout(handle.executeUpdate(cancelTransfer));
      break;
    case 'retry_compensation':
      await handle.signal(retryCompensation);
      break;
    case 'resolve_as_completed':
      await withTimeout(handle.executeUpdate(resolveAsCompleted));
      break;
    case 'terminate':
      await handle.terminate('fuzz: an operator terminated the transfer');
      break;
  }
  return 'accepted';
}

export const transferFuzzer: WorkflowFuzzer<TransferSchedule> = {
  workflow: 'transfer',
  arbitrary: transferScheduleArbitrary,
  run: runTransferSchedule,
};
