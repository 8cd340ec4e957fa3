/**
 * The transfer archive sweep (issue 15, item 1): copies the final view of every closed
 * `transferWorkflow` into WalletService's `transfer_records`, so a transfer outlives Temporal's
 * retention. Off the hot path: the transfer workflow does nothing for it; this activity pages
 * visibility by close time from a checkpoint kept in PostgreSQL, reads each run's result (the
 * close event only) and writes the records page by page, each page with the checkpoint that
 * follows it, so a sweep that dies anywhere resumes at the page it was on.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers.js';
import { ApplicationFailure } from '@temporalio/common';
import type { Gauge } from 'prom-client';
import type { HttpClient } from '../lib/http-client.js';
import type { ArchiveCheckpoint, TransferRecord } from '../wallet/wallet-api.js';
import {
  initiator,
  settledByExecution,
  transferFromExecution,
  type ExecutionView,
} from './transfer-archive-view.js';
import { getTransfer, TRANSFER_WORKFLOW_TYPE, type Transfer } from '../workflows/transfer-contract.js';
import { callUpstream } from './upstream.js';

/** The workflow type the sweep archives; declared by the transfer's contract (bench/floor imports it from here). */
export { TRANSFER_WORKFLOW_TYPE };

/** What one sweep may be told (the schedule passes nothing; tests narrow it to their queue). */
export interface TransferArchiveInput {
  /** Only runs of this task queue (tests share one Temporal); all transfer runs when absent. */
  task_queue?: string;
  /**
   * How long after its close a run is archived. Visibility is written after the close, a little
   * later; a run closed inside this lag waits for the next sweep. Default 60 s.
   */
  lag_ms?: number;
  /** Runs per visibility page and per write to WalletService. Default 100. */
  page_size?: number;
  /** Pages one sweep writes at most; the next sweep goes on from the checkpoint. Default 50. */
  max_pages?: number;
}

export interface TransferArchiveResult {
  archived: number;
  pages: number;
  checkpoint: ArchiveCheckpoint;
  /** False when the sweep stopped at `max_pages` with more to archive. */
  caught_up: boolean;
}

export interface TransferArchiveActivityDeps {
  wallet: HttpClient;
  /** A client of the namespace with the workers' data converter: results are decoded with the codec. */
  temporal?: Client;
  /** Set at each sweep that finished (`/metrics` of the worker): the alert on a sweep that stopped. */
  transferArchiveLastSuccess?: Gauge;
}

/** Results read at once: enough to hide the round trips, few enough not to crowd the frontend. */
const READ_CONCURRENCY = 8;
const DEFAULTS = { lag_ms: 60_000, page_size: 100, max_pages: 50 } as const;
const TASK_QUEUE = /^[A-Za-z0-9._:-]{1,200}$/;

/** A step as a record keeps it: a failed step keeps its code (`internal_error` if it had none). */
function recordStep(step: Transfer['steps'][number]): TransferRecord['steps'][number] {
  const failed = step.error_code !== undefined || step.error !== undefined;
  return {
    name: step.name,
    status: step.status,
    attempts: step.attempts,
    ...(failed ? { error_code: step.error_code ?? 'internal_error' } : {}),
  };
}

const CODE = /^[a-z0-9_]{1,64}$/;
const ID = /^[\x21-\x7E]{1,128}$/;

/**
 * True when WalletService will take the record (its schema, wallet/transfer-records): a run the
 * gateway never started (a test's or an operator's, with another shape) is left out rather than
 * blocking the archive at its page for good.
 */
function archivable(r: TransferRecord): boolean {
  return (
    ID.test(r.id) &&
    r.initiated_by.length <= 200 &&
    [r.from_wallet_id, r.to_wallet_id].every((w) => w.length >= 1 && w.length <= 128) &&
    /^[1-9][0-9]{0,18}$/.test(r.amount) &&
    /^[A-Z]{3}$/.test(r.currency) &&
    r.description.length <= 1000 &&
    r.steps.length <= 16 &&
    r.steps.every(
      (s) => CODE.test(s.name) && CODE.test(s.status) && (!s.error_code || CODE.test(s.error_code)),
    ) &&
    (!r.failure_code || CODE.test(r.failure_code)) &&
    [r.created_at, r.completed_at ?? r.created_at].every((t) => !Number.isNaN(Date.parse(t)))
  );
}

function transferRecord(view: Transfer, info: ExecutionView & { runId: string }): TransferRecord | undefined {
  const user = initiator(info);
  // A run without an initiator or a close time is no transfer the gateway started: nothing to keep.
  if (!user || !info.closeTime) return undefined;
  const record: TransferRecord = {
    id: view.id,
    run_id: info.runId,
    initiated_by: user,
    status: view.status,
    from_wallet_id: view.from_wallet_id,
    to_wallet_id: view.to_wallet_id,
    amount: view.amount,
    currency: view.currency,
    description: view.description,
    steps: view.steps.map(recordStep),
    ...(view.failure_code === undefined ? {} : { failure_code: view.failure_code }),
    created_at: view.created_at,
    ...(view.completed_at === undefined ? {} : { completed_at: view.completed_at }),
    closed_at: info.closeTime.toISOString(),
  };
  return archivable(record) ? record : undefined;
}

export function createTransferArchiveActivities(deps: TransferArchiveActivityDeps) {
  function temporal(): Client {
    if (!deps.temporal)
      throw ApplicationFailure.nonRetryable('the worker has no Temporal client', 'archive_unconfigured');
    return deps.temporal;
  }

  /**
   * A closed run's final view. A run that returned has its view as its result (one history
   * read, the close event only); a run stopped from outside (terminated, timed out) has none,
   * so its last view comes from the query (a worker replays it), settled as `failed` with
   * `terminated` / `timed_out`; if even that fails, visibility's view (no steps).
   */
  async function finalView(client: Client, info: ExecutionView & { runId: string }): Promise<Transfer> {
    const handle = client.workflow.getHandle(info.workflowId, info.runId, { followRuns: false });
    if (info.status.name === 'COMPLETED') {
      try {
        return (await handle.result()) as Transfer;
      } catch {
        // Deleted between the list and the read, or a result the codec cannot open: the query below.
      }
    }
    try {
      return settledByExecution(await handle.query(getTransfer), info);
    } catch {
      return transferFromExecution(info);
    }
  }

  /**
   * Archives closed transfer runs from the checkpoint on, a page at a time, until it is within
   * `lag_ms` of now or has written `max_pages` pages. Each page's records and the checkpoint
   * after them are one write; a retry after a crash reads the checkpoint and resumes there.
   */
  async function archiveClosedTransfers(input: TransferArchiveInput = {}): Promise<TransferArchiveResult> {
    const client = temporal();
    const lagMs = input.lag_ms ?? DEFAULTS.lag_ms;
    const pageSize = input.page_size ?? DEFAULTS.page_size;
    const maxPages = input.max_pages ?? DEFAULTS.max_pages;
    if (input.task_queue !== undefined && !TASK_QUEUE.test(input.task_queue)) {
      throw ApplicationFailure.nonRetryable('task_queue is not a task queue name', 'validation_failed');
    }
    let checkpoint = await callUpstream<ArchiveCheckpoint>(
      deps.wallet,
      'GET',
      '/internal/transfer-records/checkpoint',
    );
    let archived = 0;
    let pages = 0;
    // One horizon per sweep: runs closed after it wait for the next sweep.
    const horizon = new Date(Date.now() - lagMs).toISOString();
    for (;;) {
      const windowUntil = checkpoint.window_until ?? horizon;
      if (Date.parse(windowUntil) <= Date.parse(checkpoint.closed_through)) break; // nothing closed since
      if (pages >= maxPages) {
        return finish({ archived, pages, checkpoint, caught_up: false });
      }
      const window = { from: checkpoint.closed_through, until: windowUntil };
      const page = await listClosed(client, window, checkpoint.page_token, pageSize, input.task_queue);
      const records = await readRecords(client, page.executions);
      const next: ArchiveCheckpoint = page.nextPageToken
        ? { closed_through: window.from, window_until: window.until, page_token: page.nextPageToken }
        : { closed_through: window.until, window_until: null, page_token: null };
      const body = { records, checkpoint: { expected: checkpoint, next } };
      await callUpstream(deps.wallet, 'POST', '/internal/transfer-records', {
        body,
        // The page itself is the key: a lost answer retried replays; any other page is new work.
        idempotencyKey: `transfer-archive:${createHash('sha256').update(JSON.stringify(body)).digest('base64url')}`,
      });
      checkpoint = next;
      archived += records.length;
      pages += 1;
      Context.current().heartbeat();
    }
    return finish({ archived, pages, checkpoint, caught_up: true });
  }

  function finish(result: TransferArchiveResult): TransferArchiveResult {
    deps.transferArchiveLastSuccess?.setToCurrentTime();
    return result;
  }

  /** One visibility page of closed transfer runs in the window, newest close first. */
  async function listClosed(
    client: Client,
    window: { from: string; until: string },
    pageToken: string | null,
    pageSize: number,
    taskQueue: string | undefined,
  ) {
    const query = [
      `WorkflowType = '${TRANSFER_WORKFLOW_TYPE}'`,
      `ExecutionStatus != 'Running'`,
      `CloseTime > '${window.from}'`,
      `CloseTime <= '${window.until}'`,
      ...(taskQueue ? [`TaskQueue = '${taskQueue}'`] : []),
    ].join(' AND ');
    const request = (token: string | null) =>
      client.workflowService.listWorkflowExecutions({
        namespace: client.options.namespace,
        pageSize,
        query,
        ...(token ? { nextPageToken: Buffer.from(token, 'base64url') } : {}),
      });
    let response;
    try {
      response = await request(pageToken);
    } catch (err) {
      // A token the server no longer understands (an upgrade): page the window again from its
      // start; the records already written are upserted again, unchanged.
      if (!(pageToken && isGrpcServiceError(err) && Number(err.code) === 3)) throw err;
      response = await request(null);
    }
    // A row whose memo this deployment's codec cannot open was not started by its gateway
    // (which shares the keys): it is left out rather than failing the page for good.
    const decoded = await Promise.all(
      (response.executions ?? []).map((raw) =>
        executionInfoFromRaw(raw, client.options.loadedDataConverter, raw, client.options.namespace).catch(
          () => undefined,
        ),
      ),
    );
    const executions = decoded.filter((info) => info !== undefined);
    const token = response.nextPageToken?.length
      ? Buffer.from(response.nextPageToken).toString('base64url')
      : null;
    return { executions, nextPageToken: token };
  }

  async function readRecords(
    client: Client,
    executions: (ExecutionView & { runId: string })[],
  ): Promise<TransferRecord[]> {
    const records: TransferRecord[] = [];
    for (let i = 0; i < executions.length; i += READ_CONCURRENCY) {
      const chunk = executions.slice(i, i + READ_CONCURRENCY);
      const views = await Promise.all(chunk.map((info) => finalView(client, info)));
      views.forEach((view, j) => {
        const record = transferRecord(view, chunk[j]!);
        if (record) records.push(record);
      });
      Context.current().heartbeat();
    }
    return records;
  }

  return { archiveClosedTransfers };
}
