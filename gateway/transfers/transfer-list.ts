/**
 * A user's transfers, newest first: a page of their durable records merged with the runs
 * visibility still shows that the archive may not hold yet (transfer-records.ts).
 */
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers.js';
import type { Context } from 'hono';
import { searchAttributes } from '../../temporal-config/index.js';
import { TRANSFER_WORKFLOW_TYPE, type TransferStatus } from '../../workflows/transfer-contract.js';
import type { GatewayEnv } from '../http/request-context.js';
import type { Upstream } from '../http/upstream.js';
import { withinDeadline } from '../temporal/idempotency.js';
import type { Orchestrator } from '../temporal/orchestrator.js';
import { visibilityLiteral } from '../temporal/workflow-problems.js';
import { publicTransfer, type PublicTransfer } from './public-transfer.js';
import { decodeListCursor, encodeListCursor, listRecords, mergeListPage } from './transfer-records.js';
import { transferFromExecution } from '../../activities/transfer-archive-view.js';
import { transferStatusClause } from './transfer-reader.js';

/**
 * The runs of one user that visibility answers in a list: running, or closed within the
 * archive sweep's lag (about a minute). More than this many running at once would be cut short.
 */
const LIVE_PAGE_SIZE = 1000;

export interface TransferListQuery {
  user: string;
  status?: TransferStatus | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface TransferPage {
  items: PublicTransfer[];
  next_cursor: string | null;
}

export type ListTransfers = (c: Context<GatewayEnv>, query: TransferListQuery) => Promise<TransferPage>;

export function createTransferLister(
  deps: Pick<Orchestrator, 'temporal' | 'rpcMs'> & { wallet: Upstream },
): ListTransfers {
  const { temporal, wallet, rpcMs } = deps;
  return async (c, { user, status, limit, cursor }) => {
    const after = decodeListCursor(cursor);
    // The archive first (one more than the page, to know whether another follows), then the
    // runs it may not hold yet: running, or closed after the close time it is complete up to.
    const archive = await listRecords(wallet, c, {
      user,
      ...(status ? { status } : {}),
      ...(after ? { after } : {}),
      limit: limit + 1,
    });
    let query =
      `WorkflowType = '${TRANSFER_WORKFLOW_TYPE}' AND ${searchAttributes.InitiatedBy.name} = ${visibilityLiteral(user)}` +
      ` AND (ExecutionStatus = 'Running' OR CloseTime > ${visibilityLiteral(archive.archivedThrough)})`;
    if (status) query += ` AND ${transferStatusClause(status)}`;
    const page = await withinDeadline(temporal, rpcMs, () =>
      temporal.workflowService.listWorkflowExecutions({
        namespace: temporal.options.namespace,
        pageSize: LIVE_PAGE_SIZE,
        query,
      }),
    );
    // One visibility call: each row is decoded (memo through the client's data converter,
    // search attributes) the way `client.workflow.list()` does.
    const live = await Promise.all(
      (page.executions ?? []).map(async (raw) => {
        const info = await executionInfoFromRaw(
          raw,
          temporal.options.loadedDataConverter,
          raw,
          temporal.options.namespace,
        );
        return { transfer: transferFromExecution(info), running: info.status.name === 'RUNNING' };
      }),
    );
    const merged = mergeListPage(archive.items, live, after, limit);
    return {
      // Items carry no steps (GET /v1/transfers/{id} has them), whichever source they came from.
      items: merged.items.map((t) => publicTransfer({ ...t, steps: [] })),
      next_cursor: merged.next ? encodeListCursor(merged.next) : null,
    };
  };
}
