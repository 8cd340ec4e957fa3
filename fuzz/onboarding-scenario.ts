/**
 * Runs one onboarding schedule as the gateway's sign-up runs it: the password parked with
 * AuthService (`/internal/registrations`, with the gateway's own service token), then
 * `onboardUserWorkflow` started with the contract's start options, the faults planned around
 * its real activities; meanwhile the user signs up again or the onboarding is started again or
 * terminated, as the schedule says. Every run is waited for, then the invariants.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { GATEWAY, strongPassword, uniqueEmail, type Harness } from '../auth/testing/harness.js';
import { onboardUserWorkflow } from '../workflows/onboard-user-workflow.js';
import { onboardUserStartOptions, type OnboardUserInput } from '../workflows/onboarding-contract.js';
import type { ScenarioContext, ScenarioResult, WorkflowFuzzer } from './fuzzer.js';
import { onboardingInvariants, readOnboardingLedger, type OnboardingRun } from './onboarding-invariants.js';
import { onboardingScheduleArbitrary, type OnboardingSchedule } from './onboarding-schedule.js';
import { withTimeout } from './scenario-support.js';

/** Longest a run may take before it counts as stuck (a fault's retries take seconds). */
const RUN_BUDGET_MS = 90_000;

export async function runOnboardingSchedule(
  ctx: ScenarioContext,
  schedule: OnboardingSchedule,
): Promise<ScenarioResult> {
  const { auth } = ctx.upstreams;
  const email = uniqueEmail('fuzz-onboarding');
  const input: OnboardUserInput = { registration_id: await park(auth, email), currency: schedule.currency };
  const options = onboardUserStartOptions(input);
  const workflowId = options.workflowId;
  ctx.injector.plan(workflowId, schedule.faults);
  const runs: {
    origin: string;
    runId: string;
    handle: WorkflowHandle<typeof onboardUserWorkflow>;
  }[] = [];
  const start = async (origin: string, startInput: OnboardUserInput) => {
    const handle = await ctx.client.workflow.start(onboardUserWorkflow, {
      ...onboardUserStartOptions(startInput),
      taskQueue: ctx.taskQueue,
    });
    const runId = handle.firstExecutionRunId;
    // `USE_EXISTING` attaches a start to the running onboarding: the same run, waited for once.
    // Each run is read by its own id (a bare handle's describe would read the latest run).
    if (!runs.some((r) => r.runId === runId))
      runs.push({ origin, runId, handle: ctx.client.workflow.getHandle(handle.workflowId, runId) });
  };
  const sent: string[] = [];
  try {
    const startedAt = Date.now();
    await start('first', input);
    for (const { delay_ms, message } of schedule.messages) {
      await sleep(Math.max(0, startedAt + delay_ms - Date.now()));
      sent.push(`${message}:${await send(ctx.client, auth, message, workflowId, email, input, start)}`);
    }
    const ended = await Promise.all(runs.map((r) => outcome(r.origin, r.handle)));
    const ledger = await readOnboardingLedger(ctx.upstreams, email, ended);
    const violations = onboardingInvariants(ledger, ended, schedule.currency);
    const last = ended.filter((r) => r.origin !== 'sign_up_again').at(-1);
    const latest = ctx.client.workflow.getHandle(workflowId);
    const history = last?.ended === 'stuck' ? undefined : await latest.fetchHistory();
    return {
      workflowId,
      ended: last?.ended ?? 'unknown',
      parked: false,
      violations,
      messages: sent,
      checks: 1,
      ...(history ? { history } : {}),
    };
  } finally {
    ctx.injector.forget(workflowId);
  }
}

/** A user's or an operator's message; `accepted`, or `refused` when the server said no. */
async function send(
  client: Client,
  auth: Harness,
  message: OnboardingSchedule['messages'][number]['message'],
  workflowId: string,
  email: string,
  input: OnboardUserInput,
  start: (origin: string, input: OnboardUserInput) => Promise<void>,
): Promise<string> {
  try {
    switch (message) {
      case 'sign_up_again':
        await start('sign_up_again', { ...input, registration_id: await park(auth, email) });
        break;
      case 'start_again':
        await start('start_again', input);
        break;
      case 'terminate':
        await client.workflow.getHandle(workflowId).terminate('fuzz: an operator terminated the onboarding');
        break;
    }
    return 'accepted';
  } catch {
    return 'refused';
  }
}

/** How one run ended: its result, its failure's type, terminated, or stuck past the budget. */
async function outcome(
  origin: string,
  handle: WorkflowHandle<typeof onboardUserWorkflow>,
): Promise<OnboardingRun> {
  try {
    return { origin, ended: 'completed', result: await withTimeout(handle.result(), RUN_BUDGET_MS) };
  } catch (err) {
    const { status } = await handle.describe();
    if (status.name === 'TERMINATED') return { origin, ended: 'terminated' };
    if (status.name === 'FAILED') {
      const cause = (err as { cause?: unknown }).cause;
      return {
        origin,
        ended: 'failed',
        ...(cause instanceof ApplicationFailure && cause.type ? { failureType: cause.type } : {}),
      };
    }
    await handle.terminate('fuzz: onboarding over its budget').catch(() => undefined);
    return { origin, ended: 'stuck' };
  }
}

/** The gateway's first sign-up step: the password parked with AuthService, under its own token. */
async function park(auth: Harness, email: string): Promise<string> {
  const res = await auth.json(
    'POST',
    '/internal/registrations',
    { email, password: strongPassword() },
    {
      authorization: `Bearer ${await gatewayToken(auth)}`,
      'idempotency-key': `gateway:register:${randomUUID()}`,
    },
  );
  if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${JSON.stringify(res.body)}`);
  return String(res.body.registration_id);
}

/** The gateway's client_credentials token, renewed every 4 minutes (the harness's last 5). */
const tokens = new WeakMap<Harness, { token: Promise<string>; at: number }>();
function gatewayToken(auth: Harness): Promise<string> {
  const current = tokens.get(auth);
  if (current && Date.now() - current.at < 4 * 60_000) return current.token;
  const fresh = { token: auth.serviceToken(GATEWAY), at: Date.now() };
  tokens.set(auth, fresh);
  return fresh.token;
}

export const onboardingFuzzer: WorkflowFuzzer<OnboardingSchedule> = {
  workflow: 'onboarding',
  arbitrary: onboardingScheduleArbitrary,
  run: runOnboardingSchedule,
};
