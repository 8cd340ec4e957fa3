/**
 * The workflows the bench's own worker runs for the `temporal-floor` scenario: the real
 * transfer workflow (imported, not copied, so the floor follows its shape as it changes) and
 * an empty workflow (the cost of a workflow execution and nothing else).
 *
 * The transfer workflow is registered under its own type name, `floorTransferWorkflow`: the
 * stack's transfer-archive sweep copies every closed `transferWorkflow` into WalletService, and
 * under the real name it archived the floor's ~1,500 runs a minute after the floor scenario,
 * while the transfer scenarios were being measured (3.3 ms of Temporal, 2.2 ms of worker and
 * 0.3 ms of WalletService CPU per archived run, charged to the e2e transfers). Same code, same
 * commands; only the name the sweep looks for differs.
 */
export { transferWorkflow as floorTransferWorkflow } from '../../workflows/transfer-workflow.js';

/** Starts, completes: one workflow task, no activities. */
export async function emptyWorkflow(): Promise<void> {}
