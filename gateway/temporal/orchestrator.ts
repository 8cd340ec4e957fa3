import type { Client } from '@temporalio/client';

/**
 * The gateway's side of Temporal, as the routes that start, read and wait for workflows get it:
 * the client and the settings each of those calls uses, built once in app.ts.
 */
export interface Orchestrator {
  temporal: Client;
  /** `TEMPORAL_TASK_QUEUE`: where workflows start (tests use a private queue). */
  taskQueue: string;
  /** `TEMPORAL_RPC_TIMEOUT_MS`: deadline of each start, describe, list or signal. */
  rpcMs: number;
  /** `WORKFLOW_WAIT_MS`: how long registration, deposits and reversals wait for their result. */
  waitMs: number;
  /** `WORKFLOW_INPUT_KEY`, decoded: signs workflow inputs and keys Update ids. */
  inputKey: Uint8Array;
}
