import { describe, expect, it } from 'vitest';
import { TRANSFER_WORKFLOW_TYPE } from '../../activities/transfer-archive-activities.js';
import { transferWorkflow } from '../../workflows/transfer-workflow.js';
import * as floorWorkflows from './floor-workflows.js';

describe("the floor worker's workflows", () => {
  it('run the real transfer workflow under a type name the archive sweep does not read', () => {
    // The bundle's export names are the workflow types the floor worker registers.
    expect(Object.keys(floorWorkflows)).not.toContain(TRANSFER_WORKFLOW_TYPE);
    expect(floorWorkflows.floorTransferWorkflow).toBe(transferWorkflow);
  });
});
