/**
 * Runs one reversal schedule end to end: a transfer completed for real first (the transfer
 * fuzzer's own run, without faults: one reserve-and-capture through WalletService), the payee's
 * spending and the wallets' state set as the schedule says, then the reversal started as the
 * gateway starts it (signed input, `startOnce`, the request in the memo), its faults planned
 * around the real activities, the operator's messages (next attempts only after a `failed` one,
 * as the gateway allows), a parked attempt finished the way docs/runbook.md says (fault fixed,
 * `retryReversalCompensation`), then the money invariants against WalletService's tables.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { LIVE_WORKFLOW_INPUT_KEY } from '../activities/testing/live-upstreams.js';
import { requestHash, startOnce } from '../gateway/temporal/idempotency.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import type { TransferLedgerAnswer } from '../wallet/wallet-api.js';
import {
  getReversal,
  retryReversalCompensation,
  reversalStartOptions,
  type Reversal,
  type ReversalInput,
} from '../workflows/reversal-contract.js';
import { reversalWorkflow } from '../workflows/reversal-workflow.js';
import type { ScenarioContext, ScenarioResult, WorkflowFuzzer } from './fuzzer.js';
import {
  readReversalLedger,
  reversalAttemptInvariants,
  reversalMoneyInvariants,
  reversalParkedInvariants,
  type AttemptEnd,
} from './reversal-invariants.js';
import {
  reversalScheduleArbitrary,
  type ReversalMessage,
  type ReversalSchedule,
  type ScheduledReversalMessage,
} from './reversal-schedule.js';
import { walletBalances } from './ledger-snapshot.js';
import {
  answerOf,
  changeWalletStatus,
  closeSchedule,
  findings,
  moveMoney,
  settleWithOperator,
  watchRun,
  type WatchedRun,
} from './scenario-support.js';
import { runTransferSchedule } from './transfer-scenario.js';

/** Longest a schedule may take before it counts as stuck (the reversal's retries take seconds). */
const SCHEDULE_BUDGET_MS = 90_000;
const POLL_MS = 200;
const MESSAGE_WAIT_MS = 6_000;
/** The gateway's Temporal RPC deadline. */
const RPC_MS = 10_000;
const OPERATOR = 'fuzz-operator';
const TRANSFER_PREFIX = 'transfer-';

type ReversalHandle = WorkflowHandle<typeof reversalWorkflow>;

interface Attempt {
  handle: ReversalHandle;
  run: WatchedRun<Reversal>;
  options: ReturnType<typeof startOptions>;
}

function watchedAttempt(handle: ReversalHandle, options: ReturnType<typeof startOptions>): Attempt {
  return { handle, run: watchRun(handle, getReversal, POLL_MS), options };
}

function startOptions(ctx: ScenarioContext, input: ReversalInput) {
  return {
    ...reversalStartOptions(signWorkflowInput(input, LIVE_WORKFLOW_INPUT_KEY)),
    taskQueue: ctx.taskQueue,
    memo: {
      request_hash: requestHash({
        transfer_id: input.transfer_id,
        reason: input.reason,
        allow_partial: input.allow_partial,
      }),
      request_key: randomUUID(),
    },
  };
}

/** The codes an attempt may fail with: the wallet's real answers to the schedule's state, and the refusals drawn. */
function possibleCodes(schedule: ReversalSchedule): Set<string> {
  const codes = new Set<string>();
  const sent = (m: ReversalMessage) => schedule.messages.some((s) => s.message === m);
  if (schedule.payee_spent !== 'nothing' || sent('payee_spends')) codes.add('reversal_insufficient_funds');
  if (schedule.wallets === 'payer_closed') codes.add('wallet_closed');
  if (schedule.wallets === 'payee_frozen') codes.add('wallet_frozen');
  for (const a of ['holdReversal', 'captureReversal'] as const)
    for (const o of schedule.faults[a] ?? []) if (o.kind === 'refusal') codes.add(o.code);
  return codes;
}

/** Nothing in the schedule stands in the way: the first attempt moves the money back. */
function mustComplete(schedule: ReversalSchedule): boolean {
  const canMove =
    schedule.payee_spent === 'nothing' || (schedule.payee_spent === 'part' && schedule.allow_partial);
  const interfering: ReversalMessage[] = ['terminate', 'payee_spends'];
  return (
    canMove &&
    schedule.wallets === 'active' &&
    !schedule.messages.some((m) => interfering.includes(m.message)) &&
    !(['holdReversal', 'captureReversal'] as const).some((a) =>
      (schedule.faults[a] ?? []).some((o) => o.kind === 'refusal'),
    )
  );
}

export async function runReversalSchedule(
  ctx: ScenarioContext,
  schedule: ReversalSchedule,
): Promise<ScenarioResult> {
  const { wallet } = ctx.upstreams;
  const { transferId, payer, payee } = await completedTransfer(ctx, schedule);
  const amount = BigInt(schedule.amount);
  let withdrawn = 0n;
  let received = 0n;

  const movement = async (kind: 'withdrawals' | 'deposits', walletId: string, units: bigint) => {
    if (!(await moveMoney(ctx.upstreams, kind, walletId, units, `fuzz-${randomUUID()}`))) return false;
    if (kind === 'withdrawals') withdrawn += units;
    else received += units;
    return true;
  };

  if (schedule.payee_spent !== 'nothing') {
    const spent = schedule.payee_spent === 'all' ? amount : amount - 1n;
    if (!(await movement('withdrawals', payee, spent))) throw new Error('the payee could not spend');
  }
  if (schedule.wallets === 'payee_frozen') await changeWalletStatus(ctx.upstreams, payee, 'freeze');
  if (schedule.wallets === 'payer_closed') await changeWalletStatus(ctx.upstreams, payer, 'close');

  const first = startOptions(ctx, {
    transfer_id: transferId,
    reason: 'fuzz: paid the wrong person',
    allow_partial: schedule.allow_partial,
    requested_by: OPERATOR,
    created_at: new Date().toISOString(),
  });
  const workflowId = first.workflowId;
  // Every attempt runs under the schedule's faults, from its first call on.
  const planned: string[] = [];
  const plan = (id: string) => {
    ctx.injector.plan(id, schedule.faults);
    planned.push(id);
  };
  plan(workflowId);
  const deadline = Date.now() + SCHEDULE_BUDGET_MS;
  const found = findings();
  const attempts: Attempt[] = [];
  const latest = () => attempts.at(-1)!;

  try {
    const started = await startOnce(ctx.client, reversalWorkflow, first, RPC_MS);
    if (!started.started) throw new Error(`reversal ${workflowId} existed before the schedule started it`);
    attempts.push(watchedAttempt(started.handle, first));
    const startedAt = Date.now();

    for (const m of schedule.messages) {
      if (!(await waitForTrigger(m, startedAt, deadline))) break;
      found.messages.push(`${m.message}:${await answerOf(() => send(m.message))}`);
    }

    // The latest attempt settles; a parked one is finished the way an operator would.
    const { end: last, parked } = await settleWithOperator(latest().run, deadline, {
      async parked(view) {
        const ledger = await readLedger();
        found.check(reversalParkedInvariants(view, ledger), 'parked');
        found.check(reversalMoneyInvariants(ledger, expectation()), 'parked');
      },
      async operate() {
        for (const id of planned) ctx.injector.heal(id);
        await latest().handle.signal(retryReversalCompensation);
      },
    });

    const ends: AttemptEnd[] = [];
    for (const a of attempts.slice(0, -1)) ends.push(await a.run.settle(deadline));
    ends.push(last);
    const ledger = await readLedger();
    found.check(reversalMoneyInvariants(ledger, expectation()));
    const codes = possibleCodes(schedule);
    for (const [i, end] of ends.entries()) {
      const who = `attempt ${i + 1}`;
      if (end.kind === 'stuck') {
        found.stuck(who, SCHEDULE_BUDGET_MS, end.last);
        continue;
      }
      if (end.kind === 'terminated') continue;
      const movedElsewhere = ends.some(
        (o, j) =>
          j !== i && (o.kind === 'terminated' || (o.kind === 'view' && o.view.status === 'completed')),
      );
      found.check(reversalAttemptInvariants(who, end.view, ledger, { amount, codes, movedElsewhere }));
    }
    const firstEnd = ends[0]!;
    if (mustComplete(schedule) && !(firstEnd.kind === 'view' && firstEnd.view.status === 'completed'))
      found.violation(`a reversal nothing stood in the way of ended ${describeEnd(firstEnd)}`);
    const history = last.kind === 'stuck' ? undefined : await latest().handle.fetchHistory();
    return found.result({
      workflowId,
      ended: attempts.length > 1 ? `${describeEnd(last)} (attempt ${attempts.length})` : describeEnd(last),
      parked,
      history,
    });
  } finally {
    await closeSchedule(ctx, { planned, runs: attempts.map((a) => a.handle), deadline });
  }

  function readLedger() {
    return readReversalLedger(wallet, { transferId, payer, payee });
  }

  function expectation() {
    return {
      amount,
      total: BigInt(schedule.funded) + received - withdrawn,
      payerAfterTransfer: BigInt(schedule.funded) - amount,
    };
  }

  async function waitForTrigger(
    m: ScheduledReversalMessage,
    startedAt: number,
    until: number,
  ): Promise<boolean> {
    if (m.at === 'start') {
      await sleep(Math.max(0, startedAt + m.delay_ms - Date.now()));
      return true;
    }
    const waitUntil = m.at === 'closed' ? until : Math.min(until, Date.now() + MESSAGE_WAIT_MS);
    // A parked attempt never closes by itself: `closed` stops waiting there too.
    await latest().run.waitFor(waitUntil, (s) => s === 'needs_attention');
    if (Date.now() >= until) return false;
    await sleep(m.delay_ms);
    return true;
  }

  async function send(message: ReversalMessage): Promise<string> {
    const { handle, options } = latest();
    switch (message) {
      case 'retry':
        await handle.signal(retryReversalCompensation);
        return 'accepted';
      case 'terminate':
        await handle.terminate('fuzz: an operator terminated the reversal');
        return 'accepted';
      case 'repeat': {
        // The same request again: never a second run of an attempt's id.
        const again = await startOnce(ctx.client, reversalWorkflow, options, RPC_MS);
        if (again.started) found.violation(`a repeated request started ${options.workflowId} again`);
        return again.started ? 'started' : 'accepted';
      }
      case 'ask_again':
      case 'ask_again_partial': {
        // The gateway starts the next attempt only once the latest one ended `failed`.
        const { status: run } = await handle.describe();
        if (run.name !== 'COMPLETED' || (await handle.result()).status !== 'failed') return 'refused';
        const attempt = attempts.length + 1;
        const next = startOptions(ctx, {
          transfer_id: transferId,
          reason: `fuzz: asked again (${attempt})`,
          allow_partial: message === 'ask_again_partial',
          requested_by: OPERATOR,
          created_at: new Date().toISOString(),
          attempt,
        });
        plan(next.workflowId);
        const start = await startOnce(ctx.client, reversalWorkflow, next, RPC_MS);
        if (!start.started) found.violation(`attempt ${attempt} (${next.workflowId}) existed already`);
        attempts.push(watchedAttempt(start.handle, next));
        return 'accepted';
      }
      case 'payee_spends': {
        const balances = await walletBalances(wallet.db, { payee });
        const half = (balances.payee.posted - balances.payee.pending) / 2n;
        return half > 0n && (await movement('withdrawals', payee, half)) ? 'accepted' : 'refused';
      }
      case 'payee_receives':
        return (await movement('deposits', payee, amount)) ? 'accepted' : 'refused';
    }
  }
}

/**
 * A transfer completed for real: the transfer fuzzer's run of a schedule without faults or
 * messages, below the step-up threshold (one reserve-and-capture), its own invariants checked.
 * Its wallets are read back from WalletService's ledger view of the transfer.
 */
async function completedTransfer(
  ctx: ScenarioContext,
  schedule: ReversalSchedule,
): Promise<{ transferId: string; payer: string; payee: string }> {
  const transfer = await runTransferSchedule(ctx, {
    workflow: 'transfer',
    amount: schedule.amount,
    funded: schedule.funded,
    faults: {},
    messages: [],
  });
  if (transfer.ended !== 'completed' || transfer.violations.length > 0)
    throw new Error(`the transfer to reverse ended ${transfer.ended}: ${transfer.violations.join('; ')}`);
  const transferId = transfer.workflowId.slice(TRANSFER_PREFIX.length);
  const res = await ctx.upstreams.wallet.call('GET', `/internal/transfers/${transferId}`, {
    token: await ctx.upstreams.walletToken(),
  });
  const state = res.body as TransferLedgerAnswer;
  if (res.status !== 200 || !state.hold || !state.capture)
    throw new Error(`the transfer's ledger state answered ${res.status}`);
  return { transferId, payer: state.hold.wallet_id, payee: state.capture.to_wallet_id };
}

function describeEnd(end: AttemptEnd): string {
  if (end.kind !== 'view') return end.kind;
  return end.view.status === 'failed' ? `failed:${end.view.failure_code}` : end.view.status;
}

export const reversalFuzzer: WorkflowFuzzer<ReversalSchedule> = {
  workflow: 'reversal',
  arbitrary: reversalScheduleArbitrary,
  run: runReversalSchedule,
};
