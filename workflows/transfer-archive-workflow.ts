/**
 * transferArchiveWorkflow — started every minute by the `transfer-archive` Temporal Schedule
 * (workers/transfer-archive-schedule.ts): copies closed transfers into WalletService's durable
 * `transfer_records`, from the checkpoint on (activities/transfer-archive-activities.ts), so a
 * transfer can still be read and listed after Temporal's retention removed its workflow.
 */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import type {
  TransferArchiveInput,
  TransferArchiveResult,
} from '../activities/transfer-archive-activities.js';

type Activities = ReturnType<typeof activities.createActivities>;

/** Schedule id and the workflow-id prefix of its runs. */
export const TRANSFER_ARCHIVE_SCHEDULE_ID = 'transfer-archive';

/**
 * One sweep writes at most `max_pages` pages (default 50 × 100 runs) and heartbeats after each
 * read chunk and page; a retry resumes at the checkpoint WalletService stored with the last page.
 * The schedule's run timeout (5 min) bounds the whole run above these.
 */
const { archiveClosedTransfers } = proxyActivities<Activities>({
  startToCloseTimeout: '4m',
  scheduleToCloseTimeout: '270s',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

export async function transferArchiveWorkflow(
  input: TransferArchiveInput = {},
): Promise<TransferArchiveResult> {
  return archiveClosedTransfers(input);
}
