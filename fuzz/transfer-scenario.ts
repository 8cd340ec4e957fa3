/**
 * Runs one transfer schedule end to end: a fresh payer (funded as the schedule says) and payee,
 * the signed input with short timers, the faults planned around the real activities, the
 * messages sent as the transfer reaches their trigger, a parked transfer finished the way an
 * operator would (fault fixed, `retryCompensation` or `resolveAsCompleted`), then the money
 * invariants against WalletService's tables.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
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
  type Transfer,
  type TransferInput,
} from '../workflows/transfer-contract.js';
import { transferWorkflow } from '../workflows/transfer-workflow.js';
import type { ScenarioContext, ScenarioResult, WorkflowFuzzer } from './fuzzer.js';
import { fundedWallet, withTimeout } from './scenario-support.js';
import {
  moneyInvariants,
  outcomeInvariants,
  parkedInvariants,
  readTransferLedger,
  terminatedInvariants,
} from './transfer-invariants.js';
import {
  transferScheduleArbitrary,
  type ScheduledMessage,
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
const MESSAGE_WAIT_MS = 6_000;

export async function runTransferSchedule(
  ctx: ScenarioContext,
  schedule: TransferSchedule,
): Promise<ScenarioResult> {
  const { auth, wallet } = ctx.upstreams;
  const token = await ctx.upstreams.walletToken();
  const user = await auth.createUser();
  const from = await fundedWallet(ctx.upstreams, token, user.id, schedule.funded);
  const to = await fundedWallet(ctx.upstreams, token, randomUUID(), 0);
  const transferId = randomUUID();
  const input: TransferInput = signWorkflowInput(
    {
      transfer_id: transferId,
      from_wallet_id: from,
      to_wallet_id: to,
      amount: String(schedule.amount),
      currency: 'USD',
      description: 'fuzz',
      initiated_by: {
        user_id: user.id,
        client_id: 'velora-fuzz',
        token_jti: randomUUID(),
        ip: '203.0.113.9',
        user_agent: 'velora-fuzz',
      },
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
  const deadline = Date.now() + SCHEDULE_BUDGET_MS;
  const violations: string[] = [];
  const sent: string[] = [];
  let checks = 0;
  const ids = { transferId, from, to };
  const amount = BigInt(schedule.amount);
  const funded = BigInt(schedule.funded);

  try {
    for (const message of schedule.messages) {
      if (!(await waitForTrigger(handle, message, deadline))) break;
      sent.push(`${message.message}:${await send(ctx, handle, message.message, user.email)}`);
    }

    let parked = false;
    let ended: string | undefined;
    let finalView: Transfer | undefined;
    for (let round = 0; ended === undefined; round += 1) {
      const state = await settle(handle, deadline);
      if (state === 'terminated' || state === 'stuck') {
        ended = state;
        break;
      }
      if (state.status !== 'needs_attention') {
        ended = state.status;
        finalView = state;
        break;
      }
      if (round >= 6) {
        ended = 'needs_attention';
        finalView = state;
        break;
      }
      if (!parked) {
        parked = true;
        const ledger = await readTransferLedger(wallet, ids);
        violations.push(...parkedInvariants(state, ledger).map((v) => `parked: ${v}`));
        violations.push(...moneyInvariants(ledger, amount, funded).map((v) => `parked: ${v}`));
        checks += 2;
      }
      // The operator fixes the fault, then asks the transfer to try again (or resolves it).
      ctx.injector.heal(workflowId);
      const onCapturedHold = state.steps.some(
        (s) => s.status === 'compensation_failed' && s.error_code === 'hold_already_captured',
      );
      if (onCapturedHold && (await send(ctx, handle, 'resolve_as_completed', user.email)) === 'accepted')
        continue;
      await handle.signal(retryCompensation);
      await sleep(POLL_MS);
    }

    const ledger = await readTransferLedger(wallet, ids);
    violations.push(...moneyInvariants(ledger, amount, funded));
    checks += 1;
    if (ended === 'terminated') {
      violations.push(...terminatedInvariants(ledger, amount));
      checks += 1;
    } else if (ended === 'stuck') {
      const last = await handle.query(getTransfer).catch(() => undefined);
      violations.push(
        `no settled state within ${SCHEDULE_BUDGET_MS / 1000} s (last seen ${last?.status}: ${JSON.stringify(last?.steps)}; messages ${sent.join(', ')})`,
      );
    } else if (finalView) {
      violations.push(...outcomeInvariants(finalView, ledger, amount));
      checks += 1;
    }
    const history = ended === 'stuck' ? undefined : await handle.fetchHistory();
    return {
      workflowId,
      ended: ended ?? 'unknown',
      parked,
      violations,
      messages: sent,
      checks,
      ...(history ? { history } : {}),
    };
  } finally {
    if (Date.now() > deadline)
      await handle.terminate('fuzz: schedule over its budget').catch(() => undefined);
    ctx.injector.forget(workflowId);
  }
}

/** Waits until the transfer shows the message's trigger status (or settles), then its delay. */
async function waitForTrigger(
  handle: WorkflowHandle<typeof transferWorkflow>,
  message: ScheduledMessage,
  deadline: number,
): Promise<boolean> {
  if (message.at !== 'start') {
    const until = Math.min(deadline, Date.now() + MESSAGE_WAIT_MS);
    while (Date.now() < until) {
      const state = await status(handle);
      if (state === 'closed') return false;
      if (state === message.at || TERMINAL_STATUSES.includes(state) || state === 'needs_attention') break;
      await sleep(POLL_MS);
    }
  }
  await sleep(message.delay_ms);
  return true;
}

/** The transfer's status, or `closed` once the run is over (completed, terminated). */
async function status(
  handle: WorkflowHandle<typeof transferWorkflow>,
): Promise<Transfer['status'] | 'closed'> {
  const { status: run } = await handle.describe();
  if (run.name !== 'RUNNING') return 'closed';
  return (await handle.query(getTransfer)).status;
}

/**
 * Waits for the run to close or park: its final view, the parked view, `terminated`, or
 * `stuck` past the schedule's budget.
 */
async function settle(
  handle: WorkflowHandle<typeof transferWorkflow>,
  deadline: number,
): Promise<Transfer | 'terminated' | 'stuck'> {
  while (Date.now() < deadline) {
    const { status: run } = await handle.describe();
    if (run.name === 'TERMINATED') return 'terminated';
    if (run.name === 'COMPLETED') return handle.result();
    if (run.name !== 'RUNNING') throw new Error(`transfer run ended ${run.name}`);
    const view = await handle.query(getTransfer);
    if (view.status === 'needs_attention') return view;
    await sleep(POLL_MS);
  }
  return 'stuck';
}

/** Sends one message; `accepted`, or `refused` with the workflow's reason (a closed run, a validator). */
async function send(
  ctx: ScenarioContext,
  handle: WorkflowHandle<typeof transferWorkflow>,
  message: TransferMessage,
  email: string,
): Promise<string> {
  try {
    switch (message) {
      case 'confirm_right':
      case 'confirm_wrong': {
        const right = await ctx.upstreams.auth.latestCode(email, 'step_up').catch(() => undefined);
        const code =
          message === 'confirm_right'
            ? (right ?? '000000')
            : String((Number(right ?? '0') + 1) % 1_000_000).padStart(6, '0');
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
  } catch {
    return 'refused';
  }
}

export const transferFuzzer: WorkflowFuzzer<TransferSchedule> = {
  workflow: 'transfer',
  arbitrary: transferScheduleArbitrary,
  run: runTransferSchedule,
};
