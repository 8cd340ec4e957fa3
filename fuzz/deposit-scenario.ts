/**
 * Runs one deposit schedule end to end: a fresh wallet (funded, frozen or closed as the schedule
 * says), the signed input started as the gateway starts it (`startOnce`, its request hash in the
 * memo), the faults planned around the real activities, the operator's and other systems'
 * messages, then the money invariants against WalletService's tables: the reference credited at
 * most once whatever ran, each run's end agreeing with the ledger, the audit trace.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import protos from '@temporalio/proto';
import { requestHash, startOnce } from '../gateway/temporal/idempotency.js';
import { LIVE_WORKFLOW_INPUT_KEY } from '../activities/testing/live-upstreams.js';
import { applicationFailureOf } from '../lib/failures.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import { depositStartOptions, type DepositInput } from '../workflows/deposit-contract.js';
import { depositWorkflow } from '../workflows/deposit-workflow.js';
import {
  depositAuditInvariants,
  depositMoneyInvariants,
  depositOutcomeInvariants,
  readDepositLedger,
  type DepositEnd,
} from './deposit-invariants.js';
import { depositScheduleArbitrary, type DepositMessage, type DepositSchedule } from './deposit-schedule.js';
import type { ScenarioContext, ScenarioResult, WorkflowFuzzer } from './fuzzer.js';
import { answerOf, changeWalletStatus, closeSchedule, findings, fundedWallet } from './scenario-support.js';

/** Longest a schedule may take before it counts as stuck (a deposit's retries take seconds). */
const SCHEDULE_BUDGET_MS = 60_000;
const POLL_MS = 200;
/** The gateway's Temporal RPC deadline. */
const RPC_MS = 10_000;
const OPERATOR = 'fuzz-operator';

type DepositHandle = WorkflowHandle<typeof depositWorkflow>;

/** What the wallet itself answers a deposit that starts in the schedule's state. */
function realRefusals(schedule: DepositSchedule): string[] {
  const codes: string[] = [];
  if (schedule.wallet === 'frozen' || schedule.messages.some((m) => m.message === 'freeze'))
    codes.push('wallet_frozen');
  if (schedule.wallet === 'closed') codes.push('wallet_closed');
  if (schedule.currency !== 'USD') codes.push('currency_mismatch');
  if (schedule.messages.some((m) => m.message === 'legacy_other')) codes.push('duplicate_reference');
  return codes;
}

export async function runDepositSchedule(
  ctx: ScenarioContext,
  schedule: DepositSchedule,
): Promise<ScenarioResult> {
  const { wallet } = ctx.upstreams;
  const walletId = await fundedWallet(ctx.upstreams, randomUUID(), schedule.funded);
  if (schedule.wallet !== 'active')
    await changeWalletStatus(ctx.upstreams, walletId, schedule.wallet === 'frozen' ? 'freeze' : 'close');
  const reference = `fuzz-${randomUUID()}`;
  const amount = BigInt(schedule.amount);
  const funded = BigInt(schedule.funded);
  const input: DepositInput = {
    wallet_id: walletId,
    amount: String(schedule.amount),
    currency: schedule.currency,
    reference,
    requested_by: OPERATOR,
  };
  const options = {
    ...depositStartOptions(signWorkflowInput(input, LIVE_WORKFLOW_INPUT_KEY)),
    taskQueue: ctx.taskQueue,
    memo: { request_hash: requestHash({ ...input }), requested_by: OPERATOR },
  };
  const workflowId = options.workflowId;
  ctx.injector.plan(workflowId, schedule.faults);
  const deadline = Date.now() + SCHEDULE_BUDGET_MS;
  const found = findings();
  /** Deposits of the same reference under other workflow ids, with the amount each asked for. */
  const legacy: { handle: DepositHandle; amount: bigint }[] = [];
  let resets = 0;
  const latest = () => ctx.client.workflow.getHandle<typeof depositWorkflow>(workflowId);

  try {
    const first = await startOnce(ctx.client, depositWorkflow, options, RPC_MS);
    if (!first.started) throw new Error(`deposit ${workflowId} existed before the schedule started it`);
    const started = Date.now();

    for (const m of schedule.messages) {
      if (m.at === 'closed') {
        if ((await waitClosed(latest(), deadline)) === 'stuck') break;
        await sleep(m.delay_ms);
      } else {
        await sleep(Math.max(0, started + m.delay_ms - Date.now()));
      }
      found.messages.push(`${m.message}:${await answerOf(() => send(m.message))}`);
    }

    // Every run of the reference settles: the deposit's latest run and each legacy one.
    const ends: { who: string; end: DepositEnd | 'stuck'; amount: bigint }[] = [
      { who: 'the deposit', end: await endOf(latest(), deadline), amount },
      ...(await Promise.all(
        legacy.map(async (l, i) => ({
          who: `legacy deposit ${i + 1}`,
          end: await endOf(l.handle, deadline),
          amount: l.amount,
        })),
      )),
    ];
    const ledger = await readDepositLedger(wallet, { walletId, reference, workflowId });
    found.check(depositMoneyInvariants(ledger, funded));

    const codes = new Set([
      ...realRefusals(schedule),
      ...(schedule.faults.depositFunds ?? []).flatMap((o) => (o.kind === 'refusal' ? [o.code] : [])),
    ]);
    for (const [i, { who, end, amount: asked }] of ends.entries()) {
      if (end === 'stuck') {
        found.stuck(who, SCHEDULE_BUDGET_MS);
        continue;
      }
      // Another run of the reference may have made the credit this one found (or was refused for).
      const creditedElsewhere =
        (i === 0 && resets > 0) ||
        ends.some((o, j) => j !== i && o.end !== 'stuck' && o.end.kind !== 'failed');
      found.check(
        depositOutcomeInvariants(who, end, ledger, {
          walletId,
          amount: asked,
          funded,
          codes,
          creditedElsewhere,
        }),
      );
    }
    const main = ends[0]!.end;
    if (main !== 'stuck') {
      // The first run's audit call may have been refused on purpose; a reset run's never is.
      const auditRefused =
        resets === 0 && (schedule.faults.recordAuditTrace ?? []).some((o) => o.kind === 'refusal');
      const { runId } = await latest().describe();
      found.check(depositAuditInvariants(main, ledger, runId, auditRefused));
      if (mustComplete() && main.kind !== 'completed')
        found.violation(
          `a deposit nothing stood in the way of ended ${main.kind === 'failed' ? `failed (${main.code})` : main.kind}`,
        );
    }
    const history = main === 'stuck' ? undefined : await latest().fetchHistory();
    return found.result({
      workflowId,
      ended: main === 'stuck' ? 'stuck' : main.kind === 'failed' ? `failed:${main.code}` : main.kind,
      parked: false,
      history,
    });
  } finally {
    await closeSchedule(ctx, {
      planned: [workflowId],
      runs: [latest(), ...legacy.map((l) => l.handle)],
      deadline,
    });
  }

  /** Active wallet, its currency, no refusal drawn, nobody interfering: the deposit completes. */
  function mustComplete(): boolean {
    return (
      realRefusals(schedule).length === 0 &&
      !schedule.messages.some((m) => m.message === 'terminate') &&
      !(schedule.faults.depositFunds ?? []).some((o) => o.kind === 'refusal')
    );
  }

  async function send(message: DepositMessage): Promise<string> {
    switch (message) {
      case 'repeat': {
        // The gateway's repeat: never a second run of the id, whatever state the first is in.
        const again = await startOnce(ctx.client, depositWorkflow, options, RPC_MS);
        if (again.started)
          found.violation('a repeated request started a second deposit run under the same id');
        return again.started ? 'started' : 'accepted';
      }
      case 'legacy_same':
      case 'legacy_other': {
        const asked = message === 'legacy_same' ? amount : amount === 1n ? 2n : amount - 1n;
        const legacyInput: DepositInput = { ...input, amount: String(asked) };
        const handle = await ctx.client.workflow.start(depositWorkflow, {
          taskQueue: ctx.taskQueue,
          workflowId: `deposit-legacy-${randomUUID()}`,
          args: [signWorkflowInput(legacyInput, LIVE_WORKFLOW_INPUT_KEY)],
        });
        legacy.push({ handle, amount: asked });
        return 'accepted';
      }
      case 'freeze':
        await changeWalletStatus(ctx.upstreams, walletId, 'freeze');
        return 'accepted';
      case 'terminate':
        await latest().terminate('fuzz: an operator terminated the deposit');
        return 'accepted';
      case 'reset':
        // The operator fixes the fault first: the reset run's calls are real.
        ctx.injector.heal(workflowId);
        await resetToFirstTask(ctx.client, workflowId);
        resets += 1;
        return 'accepted';
    }
  }
}

/**
 * `temporal workflow reset --type FirstWorkflowTask`: the latest run (running or closed) is
 * replaced by a new run of the same id that starts over from its first workflow task.
 */
async function resetToFirstTask(client: Client, workflowId: string): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  const { runId } = await handle.describe();
  const history = await handle.fetchHistory();
  const firstTask = history.events?.find(
    (e) => e.eventType === protos.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  );
  if (!firstTask?.eventId) throw new Error('no workflow task completed yet: nothing to reset to');
  await client.workflowService.resetWorkflowExecution({
    namespace: client.options.namespace,
    workflowExecution: { workflowId, runId },
    reason: 'fuzz: an operator reset the deposit',
    workflowTaskFinishEventId: firstTask.eventId,
    requestId: randomUUID(),
  });
}

/** Waits until the run closes; `stuck` past the deadline. */
async function waitClosed(handle: DepositHandle, deadline: number): Promise<'closed' | 'stuck'> {
  while (Date.now() < deadline) {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') return 'closed';
    await sleep(POLL_MS);
  }
  return 'stuck';
}

/** How the run ended, read as the gateway reads it (its result, or the failure's type). */
async function endOf(handle: DepositHandle, deadline: number): Promise<DepositEnd | 'stuck'> {
  if ((await waitClosed(handle, deadline)) === 'stuck') return 'stuck';
  const { status } = await handle.describe();
  if (status.name === 'TERMINATED') return { kind: 'terminated' };
  try {
    return { kind: 'completed', result: await handle.result() };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    return { kind: 'failed', code: applicationFailureOf(err)?.type ?? 'unknown' };
  }
}

export const depositFuzzer: WorkflowFuzzer<DepositSchedule> = {
  workflow: 'deposit',
  arbitrary: depositScheduleArbitrary,
  run: runDepositSchedule,
};
