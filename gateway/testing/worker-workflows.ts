/**
 * The workflows the harness's worker runs: the real `transferWorkflow` (on the fake activities
 * the harness passes in), and stand-ins for the workflows whose gateway routes are tested
 * without their real activities.
 */
export { transferWorkflow } from '../../workflows/transfer-workflow.js';
export { depositWorkflow, onboardUserWorkflow, reversalWorkflow } from './fake-workflows.js';
