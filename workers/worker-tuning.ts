/**
 * Worker settings of the orchestrator, chosen from measurements on the 2-core machine
 * (`node --import tsx workers/bench/activity-kinds.ts`, numbers in docs/orchestrator.md,
 * "Regular or local activity, and the worker's settings").
 *
 * - The money steps of a transfer are local activities, so a transfer without step-up is one
 *   workflow task: that, not the worker's slots, is what moved throughput (1.6–2.2× the same
 *   shape with regular activities, in the same run).
 * - Pollers: fewer long polls than the SDK's 10 + 10. With local money steps the activity queue
 *   only carries the OTP steps, deposits, onboarding and the sweep, so 2 activity pollers keep
 *   up; 4 workflow-task pollers keep up with well over the ~30 tasks/s targeted, and every idle
 *   long poll is matching work for the server on the same 2 cores. This profile ("few-pollers")
 *   was at or above the SDK defaults for the transfer shape in both runs (20.2 vs 17.8 and
 *   13.6 vs 11.8 workflows/s), never below.
 * - Slots and cache stay at the SDK defaults: a local activity holds its workflow task's slot
 *   for one wallet call (a few ms), so 30 transfers/s keep about 2 of the 40 default slots busy;
 *   raising them and the cache ("wide") measured no better than the defaults.
 */
import type { WorkerOptions } from '@temporalio/worker';

export const WORKER_TUNING = {
  maxConcurrentWorkflowTaskPolls: 4,
  maxConcurrentActivityTaskPolls: 2,
} satisfies Partial<WorkerOptions>;
