/**
 * What a workflow needs to be fuzzed: its schedule generator and the runner of one schedule.
 * The session, the campaign, the shrinker and the regression replay are the same for every
 * workflow (fuzz/fuzz-session.ts, fuzz/campaign.ts); each workflow has a `<workflow>-scenario.ts`
 * that exports its `WorkflowFuzzer`, listed in fuzz/fuzzers.ts.
 */
import type fc from 'fast-check';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { FaultInjector } from './fault-injector.js';
import type { Outcome } from './fault-schedule.js';
import type { FuzzUpstreams } from './fuzz-upstreams.js';

/** Every schedule names its workflow and lists, per activity, the outcome of each call. */
export interface Schedule {
  workflow: string;
  faults: Partial<Record<string, Outcome[]>>;
}

export interface ScenarioContext {
  upstreams: FuzzUpstreams;
  injector: FaultInjector;
  client: Client;
  taskQueue: string;
}

export interface ScenarioResult {
  workflowId: string;
  /** How the run ended: the workflow's final status, `terminated`, `stuck` or `error`. */
  ended: string;
  /** The run waited in `needs_attention` at least once. */
  parked: boolean;
  violations: string[];
  /** Messages sent, by `<message>:<accepted|refused>`. */
  messages: string[];
  history?: temporal.api.history.v1.IHistory;
  checks: number;
}

export interface WorkflowFuzzer<S extends Schedule = Schedule> {
  workflow: S['workflow'];
  arbitrary: fc.Arbitrary<S>;
  /** Runs one schedule to its end and checks its invariants; throws only when the harness broke. */
  run(ctx: ScenarioContext, schedule: S): Promise<ScenarioResult>;
}
