/**
 * What every workflow's scenario does around its run: fresh wallets and the wallet's own routes,
 * bounded waits for the run's status and end, an operator's rounds with a parked run, the
 * answers messages got, and what the scenario found, as the session reports it.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { TransferInitiator } from '../workflows/transfer-contract.js';
import type { ScenarioContext, ScenarioResult } from './fuzzer.js';
import type { FuzzUpstreams } from './fuzz-upstreams.js';

/**
 * A fresh USD wallet of `userId` in the fuzzer's wallet database (the wallet harness's own
 * helper), with `funded` minor units deposited when above zero.
 */
export async function fundedWallet(
  upstreams: FuzzUpstreams,
  userId: string,
  funded: number,
): Promise<string> {
  return upstreams.wallet.wallet('USD', BigInt(funded), { userId, token: await upstreams.walletToken() });
}

/** Who started a money movement, as the gateway records its caller: `userId` through the fuzzer's client. */
export function fuzzInitiator(userId: string): TransferInitiator {
  return {
    user_id: userId,
    client_id: 'velora-fuzz',
    token_jti: randomUUID(),
    ip: '203.0.113.9',
    user_agent: 'velora-fuzz',
  };
}

/** Freezes or closes a wallet through WalletService's operator route. */
export async function changeWalletStatus(
  upstreams: FuzzUpstreams,
  walletId: string,
  action: 'freeze' | 'close',
): Promise<void> {
  const res = await upstreams.wallet.call('POST', `/internal/wallets/${walletId}/${action}`, {
    body: { reason: 'fuzz', requested_by: 'fuzz-operator' },
    key: randomUUID(),
    token: await upstreams.walletToken(),
  });
  if (res.status !== 200) throw new Error(`${action} answered ${res.status}`);
}

/**
 * Money into or out of a wallet outside the workflow under test (a deposit, or the user's own
 * withdrawal) through WalletService's ledger: whether the wallet took it.
 */
export async function moveMoney(
  upstreams: FuzzUpstreams,
  kind: 'deposits' | 'withdrawals',
  walletId: string,
  units: bigint,
  reference: string,
): Promise<boolean> {
  const res = await upstreams.wallet.call('POST', `/internal/wallets/${walletId}/${kind}`, {
    body: { amount: String(units), currency: 'USD', reference },
    key: randomUUID(),
    token: await upstreams.walletToken(),
  });
  return res.status === 201;
}

/** The step-up code the user types: the one AuthService sent them (`right`), or another. */
export async function otpCode(upstreams: FuzzUpstreams, email: string, right: boolean): Promise<string> {
  const sent = await upstreams.auth.latestCode(email, 'step_up').catch(() => undefined);
  return right ? (sent ?? '000000') : String((Number(sent ?? '0') + 1) % 1_000_000).padStart(6, '0');
}

/** The harness's patience with a message ran out: the message may still take effect. */
export class NoAnswer extends Error {}

/** A message's answer within `ms` (an update waits only for the workflow's next decision). */
export function withTimeout<T>(promise: Promise<T>, ms = 20_000): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms, undefined, { ref: false }).then(() => {
      throw new NoAnswer(`no answer within ${ms} ms`);
    }),
  ]);
}

/**
 * The answer a message got: what `send` says it was (`accepted`, `started`, `refused`…);
 * `unanswered` when the harness's patience ran out (`withTimeout`); `refused` when the workflow
 * or the service refused it (a closed run, a validator, a refusal).
 */
export async function answerOf(send: () => Promise<string>): Promise<string> {
  try {
    return await send();
  } catch (err) {
    return err instanceof NoAnswer ? 'unanswered' : 'refused';
  }
}

/** A workflow whose result is its final view, which its `get…` query also answers while it runs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any input: only the view matters here
type ViewedWorkflow<V> = (...args: any[]) => Promise<V>;

/** How a watched run settled: its final or parked view, `terminated`, or `stuck` (its last view). */
export type RunEnd<V> = { kind: 'view'; view: V } | { kind: 'terminated' } | { kind: 'stuck'; last?: V };

/** A run the scenario follows through its view query, polling every `pollMs`. */
export interface WatchedRun<V extends { status: string }> {
  handle: WorkflowHandle;
  pollMs: number;
  /** The run's status, or `closed` once the run is over (completed, terminated). */
  status(): Promise<V['status'] | 'closed'>;
  /**
   * Polls the status until `done` says so or the run closes, no later than `until`: the last
   * status seen (`closed` once the run is over), `undefined` if time ran out first.
   */
  waitFor(until: number, done: (status: V['status']) => boolean): Promise<V['status'] | 'closed' | undefined>;
  /** Waits for the run to close or park (`needs_attention`), `stuck` past the deadline. */
  settle(deadline: number): Promise<RunEnd<V>>;
}

export function watchRun<V extends { status: string }>(
  handle: WorkflowHandle<ViewedWorkflow<V>>,
  view: QueryDefinition<V>,
  pollMs: number,
): WatchedRun<V> {
  // A query fails when the run closes under it, or times out on a busy worker: ask again.
  const query = () => handle.query(view).catch(() => undefined);
  async function status(): Promise<V['status'] | 'closed'> {
    for (;;) {
      const { status: run } = await handle.describe();
      if (run.name !== 'RUNNING') return 'closed';
      const seen = await query();
      if (seen) return seen.status;
      await sleep(pollMs);
    }
  }
  return {
    handle,
    pollMs,
    status,
    async waitFor(until, done) {
      while (Date.now() < until) {
        const seen = await status();
        if (seen === 'closed' || done(seen)) return seen;
        await sleep(pollMs);
      }
      return undefined;
    },
    async settle(deadline) {
      let last: V | undefined;
      while (Date.now() < deadline) {
        const { status: run } = await handle.describe();
        if (run.name === 'TERMINATED') return { kind: 'terminated' };
        if (run.name === 'COMPLETED') return { kind: 'view', view: await handle.result() };
        if (run.name !== 'RUNNING') throw new Error(`${handle.workflowId} ended ${run.name}`);
        last = (await query()) ?? last;
        if (last?.status === 'needs_attention') return { kind: 'view', view: last };
        await sleep(pollMs);
      }
      return { kind: 'stuck', ...(last ? { last } : {}) };
    },
  };
}

/** Longest a message waits for its trigger status before it is sent anyway. */
const MESSAGE_WAIT_MS = 6_000;

/**
 * Waits until the run shows the message's trigger status (`at`, or any of `settled`: it will not
 * get there any more), for a few seconds at most, then the message's delay; `false` when the run
 * closed first (nothing left to send it to).
 */
export async function waitForTrigger<V extends { status: string }>(
  run: WatchedRun<V>,
  message: { at: V['status'] | 'start'; delay_ms: number },
  deadline: number,
  settled: readonly V['status'][],
): Promise<boolean> {
  if (message.at !== 'start') {
    const until = Math.min(deadline, Date.now() + MESSAGE_WAIT_MS);
    const seen = await run.waitFor(until, (s) => s === message.at || settled.includes(s));
    if (seen === 'closed') return false;
  }
  await sleep(message.delay_ms);
  return true;
}

/**
 * After a schedule, whatever happened: the faults planned for its workflow ids forgotten and,
 * once it is over its budget, the runs it started terminated (none outlives it).
 */
export async function closeSchedule(
  ctx: ScenarioContext,
  schedule: { planned: readonly string[]; runs: readonly WorkflowHandle[]; deadline: number },
): Promise<void> {
  if (Date.now() > schedule.deadline)
    for (const run of schedule.runs)
      await run.terminate('fuzz: schedule over its budget').catch(() => undefined);
  for (const id of schedule.planned) ctx.injector.forget(id);
}

/** An operator gives up on a run still parked after this many rounds: it ends `needs_attention`. */
const OPERATOR_ROUNDS = 6;

/**
 * Waits for the run to settle, handing a parked one to an operator round after round: `parked`
 * checks it the first time it parks (the parked run's invariants), `operate` does what the
 * runbook says (fix the fault, retry or resolve). `parked` in the answer: it parked at least once.
 */
export async function settleWithOperator<V extends { status: string }>(
  run: WatchedRun<V>,
  deadline: number,
  operator: { parked(view: V): Promise<void>; operate(view: V): Promise<void> },
): Promise<{ end: RunEnd<V>; parked: boolean }> {
  let parked = false;
  for (let round = 0; ; round += 1) {
    const end = await run.settle(deadline);
    if (end.kind !== 'view' || end.view.status !== 'needs_attention' || round >= OPERATOR_ROUNDS)
      return { end, parked };
    if (!parked) {
      parked = true;
      await operator.parked(end.view);
    }
    await operator.operate(end.view);
    await sleep(run.pollMs);
  }
}

/** A run's end as the summary counts it: its final status, `terminated` or `stuck`. */
export function endName(end: RunEnd<{ status: string }>): string {
  return end.kind === 'view' ? end.view.status : end.kind;
}

/** What one schedule's run found: the invariants checked and broken, the messages and their answers. */
export interface Findings {
  /** `<message>:<answer>`, in the order sent. */
  readonly messages: string[];
  /** One invariant checked: what it found broken, each prefixed (`parked: …`) when asked. */
  check(broken: readonly string[], prefix?: string): void;
  /** A broken promise no invariant function states (a second start, a run that had to complete). */
  violation(text: string): void;
  /** `who` (a run of the schedule) did not settle within the schedule's budget; `last`, its last view. */
  stuck(who: string, budgetMs: number, last?: { status: string; steps?: unknown }): void;
  /** The session's record of the run; its history, unless it was stuck. */
  result(run: {
    workflowId: string;
    ended: string;
    parked: boolean;
    history?: temporal.api.history.v1.IHistory | undefined;
  }): ScenarioResult;
}

export function findings(): Findings {
  const violations: string[] = [];
  const messages: string[] = [];
  let checks = 0;
  return {
    messages,
    check(broken, prefix) {
      violations.push(...(prefix ? broken.map((v) => `${prefix}: ${v}`) : broken));
      checks += 1;
    },
    violation(text) {
      violations.push(text);
    },
    stuck(who, budgetMs, last) {
      const seen = last
        ? `last seen ${last.status}${last.steps ? `: ${JSON.stringify(last.steps)}` : ''}; `
        : '';
      violations.push(
        `${who} did not settle within ${budgetMs / 1000} s (${seen}messages ${messages.join(', ')})`,
      );
    },
    result({ workflowId, ended, parked, history }) {
      return { workflowId, ended, parked, violations, messages, checks, ...(history ? { history } : {}) };
    },
  };
}
