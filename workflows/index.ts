/** Every workflow the orchestrator's workers run (the worker bundles this module). */
export { transferWorkflow } from './transfer-workflow.js';
export { onboardUserWorkflow } from './onboard-user-workflow.js';
export { depositWorkflow } from './deposit-workflow.js';
export { holdExpiryWorkflow } from './hold-expiry-workflow.js';
export { reversalWorkflow } from './reversal-workflow.js';
export { withdrawalWorkflow } from './withdrawal-workflow.js';
export { transferArchiveWorkflow } from './transfer-archive-workflow.js';
