/**
 * The workflows the bench's own worker runs for the `temporal-floor` scenario: the real
 * transfer workflow (imported, not copied, so the floor follows its shape as it changes) and
 * an empty workflow (the cost of a workflow execution and nothing else).
 */
export { transferWorkflow } from '../../workflows/transfer-workflow.js';

/** Starts, completes: one workflow task, no activities. */
export async function emptyWorkflow(): Promise<void> {}
