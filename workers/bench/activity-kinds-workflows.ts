/**
 * Workflows of the activity-kind benchmark (workers/bench/activity-kinds.ts): the lean transfer
 * shape — reserve, then capture, one search-attribute upsert per status change — with regular
 * activities, with local activities, and mixed; the real transferWorkflow; an empty workflow.
 * The activities are no-ops, so what is measured is Temporal's cost of each shape.
 */
import {
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import { searchAttributes } from '../../temporal-config/index.js';

export { transferWorkflow } from '../../workflows/transfer-workflow.js';

interface Steps {
  benchReserve(): Promise<void>;
  benchCapture(): Promise<void>;
}

const regularOptions: ActivityOptions = { startToCloseTimeout: '15s' };
const localOptions: LocalActivityOptions = { startToCloseTimeout: '15s' };

const regular = proxyActivities<Steps>(regularOptions);
const local = proxyLocalActivities<Steps>(localOptions);

function status(value: string): void {
  upsertSearchAttributes([{ key: searchAttributes.TransferStatus, value }]);
}

/** reserve and capture as regular activities (what the transfer uses). */
export async function leanRegular(): Promise<void> {
  await regular.benchReserve();
  status('processing');
  await regular.benchCapture();
  status('completed');
}

/** reserve and capture as local activities. */
export async function leanLocal(): Promise<void> {
  await local.benchReserve();
  status('processing');
  await local.benchCapture();
  status('completed');
}

/** reserve local, capture (the pivot) regular. */
export async function leanMixed(): Promise<void> {
  await local.benchReserve();
  status('processing');
  await regular.benchCapture();
  status('completed');
}

/** One workflow task, no activity: the floor. */
export async function emptyWorkflow(): Promise<void> {}
