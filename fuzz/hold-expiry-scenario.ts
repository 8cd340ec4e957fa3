/**
 * Runs one hold-expiry schedule: a fresh payer funded with the holds' sum (plus a spare), its
 * holds placed through WalletService's reserve as a transfer places them (short expiries), a
 * transfer-like actor capturing or releasing some of them at chosen times, the sweeps started as
 * the `hold-expiry` Temporal Schedule starts them (its workflow, run timeout and id prefix), each
 * with its activity's faults planned and perhaps terminated by an operator, then one more sweep
 * after every short expiry (the schedule's next tick), and the invariants.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { HOLD_EXPIRY_SCHEDULE, holdExpirySchedule } from '../workers/hold-expiry-schedule.js';
import { holdExpiryWorkflow } from '../workflows/hold-expiry-workflow.js';
import type { temporal } from '@temporalio/proto';
import type { ScenarioContext, ScenarioResult, WorkflowFuzzer } from './fuzzer.js';
import {
  holdFateInvariants,
  holdMoneyInvariants,
  readHoldExpiryLedger,
  type ActorRecord,
  type SweepRecord,
} from './hold-expiry-invariants.js';
import {
  holdExpiryScheduleArbitrary,
  LONG_TTL_S,
  type HoldActor,
  type HoldExpirySchedule,
  type PlannedSweep,
} from './hold-expiry-schedule.js';
import { findings, fundedWallet, withTimeout } from './scenario-support.js';

/** Longest one sweep may take before it counts as stuck (its activity's own round is 55 s). */
const SWEEP_BUDGET_MS = 60_000;
/** The last sweep starts this long after the latest short expiry. */
const AFTER_EXPIRY_MS = 100;
/** Limits that never refuse: the reserve's limits are not what this schedule is about. */
const NO_LIMITS = { per_transfer: '1000000000000', daily: '1000000000000' };

export async function runHoldExpirySchedule(
  ctx: ScenarioContext,
  schedule: HoldExpirySchedule,
): Promise<ScenarioResult> {
  const { wallet } = ctx.upstreams;
  const token = await ctx.upstreams.walletToken();
  const userId = randomUUID();
  const held = schedule.holds.reduce((s, h) => s + h.amount, 0);
  const funded = held + schedule.spare;
  const payer = await fundedWallet(ctx.upstreams, userId, funded);
  const payee = await fundedWallet(ctx.upstreams, randomUUID(), 0);

  // The holds, placed as a transfer's reserve places them (one transfer id, one key each).
  const transferIds: string[] = [];
  for (const hold of schedule.holds) {
    const transferId = randomUUID();
    const res = await wallet.call('POST', `/internal/transfers/${transferId}/reserve`, {
      body: {
        user_id: userId,
        from_wallet_id: payer,
        to_wallet_id: payee,
        amount: String(hold.amount),
        currency: 'USD',
        limits: NO_LIMITS,
        hold_ttl_seconds: hold.ttl_s,
      },
      key: `transfer-${transferId}:reserve`,
      token,
    });
    if (res.status !== 201) throw new Error(`reserve answered ${res.status}: ${JSON.stringify(res.body)}`);
    transferIds.push(transferId);
  }
  const placedAt = Date.now();
  const lastShortExpiry = Math.max(
    placedAt,
    ...(await readHoldExpiryLedger(wallet, { payer, payee, transferIds })).holds
      .filter((_, i) => schedule.holds[i]!.ttl_s < LONG_TTL_S)
      .map((h) => h.expires_at.getTime()),
  );

  const found = findings();
  const { messages } = found;
  const sweeps: SweepRecord[] = [];
  let lastHistory: temporal.api.history.v1.IHistory | undefined;
  const runSweep = async (index: number, planned: PlannedSweep): Promise<void> => {
    const record = await sweep(ctx, schedule, index, planned, messages);
    sweeps.push(record.sweep);
    if (record.history) lastHistory = record.history;
  };

  const actors = await Promise.all([
    Promise.all(
      schedule.holds.map(async (hold, i) => {
        if (!hold.actor) return undefined;
        await sleep(Math.max(0, placedAt + hold.actor.at_ms - Date.now()));
        const answer = await act(ctx, token, hold.actor, hold.amount, transferIds[i]!, payee);
        messages.push(`${hold.actor.action}:${answer.answer}`);
        return answer;
      }),
    ),
    ...schedule.sweeps.map(async (planned, i) => {
      await sleep(Math.max(0, placedAt + planned.at_ms - Date.now()));
      await runSweep(i, planned);
    }),
  ]).then(([answers]) => answers);

  // The schedule's next tick: one sweep after every short expiry, with the faults of its call.
  await sleep(Math.max(0, lastShortExpiry + AFTER_EXPIRY_MS - Date.now()));
  await runSweep(schedule.sweeps.length, { at_ms: Date.now() - placedAt });
  sweeps.sort((a, b) => a.startedAt - b.startedAt);

  const ledger = await readHoldExpiryLedger(wallet, { payer, payee, transferIds });
  found.check(holdMoneyInvariants(ledger, BigInt(funded)));
  found.check(holdFateInvariants(ledger, sweeps, actors));
  for (const s of sweeps) {
    if (s.ended === 'stuck')
      found.violation(`sweep ${s.index} did not end within ${SWEEP_BUDGET_MS / 1000} s`);
    if (s.ended === 'failed')
      found.violation(`sweep ${s.index} failed (its activity has no refusal: every fault is retried)`);
  }
  const last = sweeps.find((s) => s.index === schedule.sweeps.length);
  return found.result({
    workflowId: `${HOLD_EXPIRY_SCHEDULE.scheduleId}-fuzz-${payer}`,
    ended: last?.ended ?? 'unknown',
    parked: false,
    history: lastHistory,
  });
}

/**
 * One sweep, started as the schedule's action starts it, its call's faults planned under its
 * workflow id; an operator may terminate it. Ends with how it ended and when.
 */
async function sweep(
  ctx: ScenarioContext,
  schedule: HoldExpirySchedule,
  index: number,
  planned: PlannedSweep,
  messages: string[],
): Promise<{ sweep: SweepRecord; history?: temporal.api.history.v1.IHistory }> {
  const action = holdExpirySchedule({ ...HOLD_EXPIRY_SCHEDULE, taskQueue: ctx.taskQueue }).action;
  if (action.type !== 'startWorkflow') throw new Error('the hold-expiry schedule does not start a workflow');
  // The schedule names its runs `<scheduleId>-<time>`; a fuzzed run adds its own suffix.
  const workflowId = `${action.workflowId}-fuzz-${randomUUID()}`;
  const outcome = schedule.faults.expireHolds?.[index];
  ctx.injector.plan(workflowId, outcome ? { expireHolds: [outcome] } : {});
  const startedAt = Date.now();
  try {
    const handle = await ctx.client.workflow.start(holdExpiryWorkflow, {
      workflowId,
      taskQueue: ctx.taskQueue,
      ...(action.workflowRunTimeout === undefined ? {} : { workflowRunTimeout: action.workflowRunTimeout }),
    });
    const terminated =
      planned.terminate_after_ms === undefined
        ? Promise.resolve()
        : sleep(planned.terminate_after_ms).then(async () => {
            const ok = await handle.terminate('fuzz: an operator terminated the sweep').then(
              () => true,
              () => false,
            );
            messages.push(`terminate:${ok ? 'accepted' : 'refused'}`);
          });
    let ended: SweepRecord['ended'];
    try {
      await withTimeout(handle.result(), SWEEP_BUDGET_MS);
      ended = 'completed';
    } catch (err) {
      const { status } = await handle.describe();
      ended =
        status.name === 'TERMINATED' ? 'terminated' : err instanceof WorkflowFailedError ? 'failed' : 'stuck';
      if (ended === 'stuck') await handle.terminate('fuzz: sweep over its budget').catch(() => undefined);
    }
    const finishedAt = Date.now();
    await terminated;
    const history = ended === 'completed' ? await handle.fetchHistory() : undefined;
    return { sweep: { index, startedAt, finishedAt, ended }, ...(history ? { history } : {}) };
  } finally {
    ctx.injector.forget(workflowId);
  }
}

/**
 * The transfer-like actor: a capture of the hold into the payee, or the transfer's release,
 * under the transfer's own keys; a lost first answer is followed by the same request again.
 */
async function act(
  ctx: ScenarioContext,
  token: string,
  actor: HoldActor,
  amount: number,
  transferId: string,
  payee: string,
): Promise<ActorRecord> {
  const { wallet } = ctx.upstreams;
  const call = async () => {
    if (actor.action === 'release')
      return wallet.call('POST', `/internal/transfers/${transferId}/release`, {
        key: `transfer-${transferId}:release`,
        token,
      });
    const state = await wallet.call('GET', `/internal/transfers/${transferId}`, { token });
    const holdId = String((state.body as { hold: { id: string } }).hold.id);
    return wallet.call('POST', `/internal/holds/${holdId}/capture`, {
      body: { to_wallet_id: payee, amount: String(amount) },
      key: `transfer-${transferId}:capture`,
      token,
    });
  };
  if (actor.answer_lost) await call();
  const res = await call();
  const body = res.body as { code?: string; released?: boolean };
  const answer =
    res.status === 200 && actor.action === 'release'
      ? body.released
        ? 'released'
        : 'not_released'
      : res.status === 200
        ? 'captured'
        : String(body.code ?? res.status);
  return { action: actor.action, status: res.status, answer };
}

export const holdExpiryFuzzer: WorkflowFuzzer<HoldExpirySchedule> = {
  workflow: 'hold-expiry',
  arbitrary: holdExpiryScheduleArbitrary,
  run: runHoldExpirySchedule,
};
