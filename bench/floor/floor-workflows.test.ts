import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRANSFER_WORKFLOW_TYPE } from '../../activities/transfer-archive-activities.js';
import {
  startWorkflowTestWorker,
  type WorkflowTestContext,
} from '../../workers/testing/workflow-test-env.js';
import { transferStartOptions } from '../../workflows/transfer-contract.js';
import { transferWorkflow } from '../../workflows/transfer-workflow.js';
import { floorInput } from '../scenarios/temporal-floor.js';
import * as floorWorkflows from './floor-workflows.js';
import { noopActivities } from './noop-activities.js';

describe("the floor worker's workflows", () => {
  it('run the real transfer workflow under a type name the archive sweep does not read', () => {
    // The bundle's export names are the workflow types the floor worker registers.
    expect(Object.keys(floorWorkflows)).not.toContain(TRANSFER_WORKFLOW_TYPE);
    expect(floorWorkflows.floorTransferWorkflow).toBe(transferWorkflow);
  });
});

describe("the floor's no-op activities", () => {
  let ctx: WorkflowTestContext;
  beforeAll(async () => {
    ctx = await startWorkflowTestWorker(`floor-noop-${process.pid}`, noopActivities());
  });
  afterAll(async () => ctx.stop());

  it("take the product's happy path: the reserve captures in one local activity, 7 events", async () => {
    const input = floorInput();
    const handle = await ctx.env.client.workflow.start(transferWorkflow, {
      ...transferStartOptions(input),
      taskQueue: ctx.taskQueue,
    });
    const result = await handle.result();
    expect(result.status).toBe('completed');
    const events = (await handle.fetchHistory()).events ?? [];
    const markers = events.flatMap((e) => e.markerRecordedEventAttributes?.markerName ?? []);
    // One local activity (the reserve that captured), as a transfer without step-up costs on
    // the stack; a second marker would mean the floor measures the two-call shape.
    expect(markers).toEqual(['core_local_activity']);
    expect(events).toHaveLength(7);
  });
});
