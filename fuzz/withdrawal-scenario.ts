/**
 * Runs one withdrawal schedule end to end: a fresh user and wallet (funded as the schedule
 * says), the signed input with short timers, the faults planned around the real activities, the
 * payout provider (payout-sim, in-process) told how to decide and answer, its result delivered
 * as the gateway's webhook route delivers it (the `payoutResult` signal) when the schedule says, the messages sent as the withdrawal reaches their trigger, a parked withdrawal finished
 * the way docs/runbook.md ("Payouts stuck at the provider") tells an operator, then the money
 * invariants against WalletService's tables and the provider's book.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { LIVE_WORKFLOW_INPUT_KEY } from '../activities/testing/live-upstreams.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import { failureType } from '../workflows/failures.js';
import type { PayoutBook } from '../payout-sim/payout-book.js';
import { payoutEvent, type PayoutEvent } from '../payout-sim/webhook-delivery.js';
import {
  cancelWithdrawal,
  confirmWithdrawalOtp,
  getWithdrawal,
  LATE_PAYOUT_REASONS,
  payoutResult,
  payoutResultOf,
  resolveWithdrawal,
  retryWithdrawal,
  settleLatePayout,
  WITHDRAWAL_TERMINAL_STATUSES,
  withdrawalStartOptions,
  type Withdrawal,
  type WithdrawalInput,
} from '../workflows/withdrawal-contract.js';
import { withdrawalWorkflow } from '../workflows/withdrawal-workflow.js';
import type { ScenarioContext, ScenarioResult, WorkflowFuzzer } from './fuzzer.js';
import type { FuzzUpstreams } from './fuzz-upstreams.js';
import { walletBalances } from './ledger-snapshot.js';
import {
  answerOf,
  closeSchedule,
  endName,
  findings,
  fundedWallet,
  fuzzInitiator,
  moveMoney,
  otpCode,
  settleWithOperator,
  waitForTrigger,
  watchRun,
  withTimeout,
  type WatchedRun,
} from './scenario-support.js';
import {
  readWithdrawalLedger,
  withdrawalMoneyInvariants,
  withdrawalOutcomeInvariants,
  withdrawalParkedInvariants,
  type Delivered,
  type WithdrawalIds,
} from './withdrawal-invariants.js';
import {
  withdrawalScheduleArbitrary,
  type WithdrawalMessage,
  type WithdrawalSchedule,
} from './withdrawal-schedule.js';

/** The input's own timers, short so that a schedule takes seconds (no time-skipping server here). */
export const WITHDRAWAL_FUZZ_TIMERS = {
  otp_timeout_ms: 6_000,
  payout_timeout_ms: 3_000,
  late_result_window_ms: 5_000,
} as const;

/** Longest a schedule may take before it counts as stuck. */
const SCHEDULE_BUDGET_MS = 120_000;
const POLL_MS = 250;
/** Statuses after which a message's trigger status will not come: it is sent at once. */
const SETTLED = [...WITHDRAWAL_TERMINAL_STATUSES, 'needs_attention'] as const;
const NOTE = 'FUZZ-1: checked against the provider';

type Handle = WorkflowHandle<typeof withdrawalWorkflow>;

export async function runWithdrawalSchedule(
  ctx: ScenarioContext,
  schedule: WithdrawalSchedule,
): Promise<ScenarioResult> {
  const { auth, wallet } = ctx.upstreams;
  const provider = ctx.upstreams.payouts;
  if (!provider) throw new Error('the fuzz upstreams have no payout provider');
  const user = await auth.createUser();
  const walletId = await fundedWallet(ctx.upstreams, user.id, schedule.funded);
  const withdrawalId = randomUUID();
  // A bank account of its own: every payout the provider holds to it is this withdrawal's.
  const iban = `DE${String(randomInt(10, 100))}${String(randomInt(1e9, 1e10))}${String(randomInt(1e9, 1e10))}`;
  const ids: WithdrawalIds = { withdrawalId, walletId, iban };
  const input: WithdrawalInput = signWorkflowInput(
    {
      withdrawal_id: withdrawalId,
      wallet_id: walletId,
      amount: String(schedule.amount),
      currency: 'USD',
      destination: { account_holder: 'Fuzz Holder', iban },
      description: 'fuzz',
      initiated_by: fuzzInitiator(user.id),
      created_at: new Date().toISOString(),
      ...WITHDRAWAL_FUZZ_TIMERS,
    },
    LIVE_WORKFLOW_INPUT_KEY,
  );
  // The provider decides as the schedule says and sends nothing itself: the harness delivers.
  const { book } = provider;
  book.addFault({ fault: 'no_result', reference: withdrawalId });
  book.addFault({
    fault: schedule.provider.decision === 'rejected' ? 'reject' : 'settle',
    reference: withdrawalId,
  });
  if (schedule.provider.submit_5xx > 0)
    book.addFault({ fault: 'submit_5xx', reference: withdrawalId, times: schedule.provider.submit_5xx });

  const options = withdrawalStartOptions(input);
  const workflowId = options.workflowId;
  ctx.injector.plan(workflowId, schedule.faults);
  const handle = await ctx.client.workflow.start(withdrawalWorkflow, {
    ...options,
    taskQueue: ctx.taskQueue,
  });
  const run = watchRun(handle, getWithdrawal, POLL_MS);
  const deadline = Date.now() + SCHEDULE_BUDGET_MS;
  const found = findings();
  const amount = BigInt(schedule.amount);
  const funded = BigInt(schedule.funded);
  /** What the user spent on their own (`spends`): it left the wallet outside this withdrawal. */
  let spent = 0n;
  const webhook = webhookOf(handle);

  try {
    const delivering = driveProvider(ctx.upstreams, run, book, schedule, webhook, deadline);
    for (const message of schedule.messages) {
      if (!(await waitForTrigger(run, message, deadline, SETTLED))) break;
      found.messages.push(
        `${message.message}:${await answerOf(() => send(ctx, handle, message.message, user.email))}`,
      );
    }

    const { end, parked } = await settleWithOperator(run, deadline, {
      async parked(state) {
        const ledger = await readWithdrawalLedger(wallet, book, ids);
        found.check(withdrawalParkedInvariants(state, ledger), 'parked');
        found.check(withdrawalMoneyInvariants(ledger, amount, funded - spent), 'parked');
      },
      async operate(state) {
        const late = state.attention && LATE_PAYOUT_REASONS.includes(state.attention.reason);
        if (late && schedule.spends && spent === 0n) spent = await spendAll(ctx.upstreams, walletId);
        found.messages.push(...(await operate(ctx, handle, state, workflowId)));
      },
    });
    await delivering;

    const history = end.kind === 'stuck' ? undefined : await handle.fetchHistory();
    const ledger = await readWithdrawalLedger(wallet, book, ids);
    found.check(withdrawalMoneyInvariants(ledger, amount, funded - spent));
    if (end.kind === 'stuck') {
      found.stuck('the withdrawal', SCHEDULE_BUDGET_MS, end.last);
    } else if (end.kind === 'view') {
      const delivered: Delivered | undefined =
        schedule.provider.delivery === 'never' || !history
          ? undefined
          : {
              status: schedule.provider.decision,
              whileRunning: (history.events ?? []).some(
                (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'payoutResult',
              ),
            };
      found.check(withdrawalOutcomeInvariants(end.view, ledger, delivered, parked));
    }
    return found.result({ workflowId, ended: endName(end), parked, history });
  } finally {
    await closeSchedule(ctx, { planned: [workflowId], runs: [handle], deadline });
  }
}

/**
 * What an operator does with a parked withdrawal (docs/runbook.md, "Payouts stuck at the
 * provider"): a settled payout the books gave back is booked with `settleLatePayout` (or, when
 * that is refused, recalled from the provider and closed `failed`); a settlement for another
 * amount is recalled and closed `failed`; an unanswered capture or release is retried once the
 * fault is fixed.
 */
async function operate(
  ctx: ScenarioContext,
  handle: Handle,
  state: Withdrawal,
  workflowId: string,
): Promise<string[]> {
  const reason = state.attention?.reason;
  ctx.injector.heal(workflowId);
  if (reason !== undefined && LATE_PAYOUT_REASONS.includes(reason)) {
    const refusal = await withTimeout(
      handle.executeUpdate(settleLatePayout, { args: [{ note: NOTE }] }),
    ).then(
      () => undefined,
      (err: unknown) =>
        err instanceof WorkflowUpdateFailedError ? (failureType(err.cause) ?? 'refused') : 'unanswered',
    );
    if (refusal === undefined) return ['operator_settle_late_payout:accepted'];
    // Unanswered, or a booking already under way: the next round sees how it ended.
    if (refusal === 'unanswered' || refusal === 'booking_in_progress')
      return [`operator_settle_late_payout:${refusal}`];
    // Refused (the funds are gone: a collection case): the operator recalls the payout instead.
    return ['operator_settle_late_payout:refused', `operator_resolve_failed:${await resolveFailed(handle)}`];
  }
  if (reason === 'settlement_mismatch') return [`operator_resolve_failed:${await resolveFailed(handle)}`];
  await handle.signal(retryWithdrawal).catch(() => undefined);
  return [];
}

/** The operator recalled the payout from the provider: the withdrawal is closed `failed`. */
async function resolveFailed(handle: Handle): Promise<string> {
  return handle.signal(resolveWithdrawal, { outcome: 'failed', note: NOTE }).then(
    () => 'accepted',
    () => 'refused',
  );
}

type Webhook = (event: PayoutEvent) => Promise<void>;

/**
 * What the gateway's webhook route (gateway/withdrawals/payout-webhook.routes.ts) does with a
 * verified event: the `payoutResult` signal to the withdrawal of its reference; a result for no
 * running withdrawal is acknowledged (the route logs it for an operator). The route itself cannot
 * be loaded here: its OpenAPI schemas extend zod schemas that the services loaded before it.
 */
function webhookOf(handle: Handle): Webhook {
  return async (event) => {
    try {
      await handle.signal(payoutResult, payoutResultOf(event));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  };
}

/**
 * The provider's side: once it decided the payout, its result reaches the webhook `prompt`ly
 * (the schedule's delay after the decision), `late` (that delay after the withdrawal gave up
 * waiting and released the funds), or never; a repeat sends the same event again.
 */
async function driveProvider(
  upstreams: FuzzUpstreams,
  run: WatchedRun<Withdrawal>,
  book: PayoutBook,
  schedule: WithdrawalSchedule,
  webhook: Webhook,
  deadline: number,
): Promise<void> {
  const { provider } = schedule;
  const reference = run.handle.workflowId.replace(/^withdrawal-/, '');
  if (provider.delivery === 'never') return;
  // Wait for the decision (no payout at all when the withdrawal never reached the provider).
  for (;;) {
    const payout = book.get(reference);
    if (payout && payout.status !== 'pending') break;
    if (Date.now() > deadline || (await run.status()) === 'closed') return;
    if (!payout && ['failed', 'cancelled', 'completed'].includes(await run.status())) return;
    await sleep(POLL_MS);
  }
  if (provider.delivery === 'late')
    await run.waitFor(deadline, (s) => WITHDRAWAL_TERMINAL_STATUSES.includes(s));
  if (schedule.hold_expires) await expireHold(upstreams, reference);
  await sleep(provider.delay_ms);
  const decided = payoutEvent(book.get(reference)!);
  const event = provider.mismatch ? { ...decided, amount: String(schedule.amount + 1) } : decided;
  await webhook(event);
  if (provider.repeat) {
    await sleep(1_100);
    await webhook(event);
  }
}

/**
 * A time jump past the withdrawal's hold expiry: its `expires_at` moved into the past, then
 * WalletService's own expiry sweep (what the hold-expiry workflow calls every minute) runs.
 */
async function expireHold(upstreams: FuzzUpstreams, withdrawalId: string): Promise<void> {
  const { wallet } = upstreams;
  await wallet.db
    .updateTable('holds')
    .set({ expires_at: new Date(Date.now() - 1_000) })
    .where('transfer_id', '=', withdrawalId)
    .where('status', '=', 'active')
    .execute();
  const res = await wallet.call('POST', '/internal/holds/expire', {
    body: {},
    token: await upstreams.walletToken(),
  });
  if (res.status !== 200) throw new Error(`the hold expiry sweep answered ${res.status}`);
}

/**
 * The user spends everything the wallet has available (a withdrawal of their own through
 * WalletService's ledger): the minor units spent, which leave the books outside this withdrawal.
 */
async function spendAll(upstreams: FuzzUpstreams, walletId: string): Promise<bigint> {
  const { own } = await walletBalances(upstreams.wallet.db, { own: walletId });
  const available = own.posted - own.pending;
  if (available <= 0n) return 0n;
  if (!(await moveMoney(upstreams, 'withdrawals', walletId, available, 'fuzz: the user spent it')))
    throw new Error("the user's spending was refused");
  return available;
}

/** Sends one message (see `answerOf` for its answer). */
async function send(
  ctx: ScenarioContext,
  handle: Handle,
  message: WithdrawalMessage,
  email: string,
): Promise<string> {
  switch (message) {
    case 'confirm_right':
    case 'confirm_wrong': {
      const code = await otpCode(ctx.upstreams, email, message === 'confirm_right');
      await withTimeout(handle.executeUpdate(confirmWithdrawalOtp, { args: [{ code }] }));
      break;
    }
    case 'cancel':
      await withTimeout(handle.executeUpdate(cancelWithdrawal));
      break;
    case 'retry':
      await handle.signal(retryWithdrawal);
      break;
    case 'settle_late_payout':
      await withTimeout(handle.executeUpdate(settleLatePayout, { args: [{ note: NOTE }] }));
      break;
    case 'terminate':
      await handle.terminate('fuzz: an operator terminated the withdrawal');
      break;
  }
  return 'accepted';
}

export const withdrawalFuzzer: WorkflowFuzzer<WithdrawalSchedule> = {
  workflow: 'withdrawal',
  arbitrary: withdrawalScheduleArbitrary,
  run: runWithdrawalSchedule,
};
