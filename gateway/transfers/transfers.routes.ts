import { createRoute, z } from '@hono/zod-openapi';
import {
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  isGrpcServiceError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers.js';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { ProblemError } from '../../lib/problem.js';
import { signWorkflowInput, workflowInputKey } from '../../lib/workflow-input-signature.js';
import { otpActivityOptions } from '../../temporal-config/activity-options.js';
import { searchAttributes } from '../../temporal-config/index.js';
import {
  cancelTransfer,
  confirmOtp,
  transferStartOptions,
  waitForTransfer,
  type Transfer,
  type TransferInput,
} from '../../workflows/transfer-contract.js';
import { authenticate, requireUser } from '../http/authn.js';
import { applicationFailureDetails, applicationFailureType, DOMAIN_STATUS } from '../http/errors.js';
import { rateLimit } from '../http/rate-limit.js';
import {
  ConfirmTransferBody,
  CreateTransferBody,
  IdempotencyKeyHeader,
  TRANSFER_STATUSES,
  TransferSchema,
  problemCodes,
  problemResponses,
  resourceId,
} from '../openapi/schemas.js';
import { bearerSecurity, createRouter } from '../openapi/router.js';
import {
  deriveId,
  deriveUpdateId,
  requestHash,
  requireIdempotencyKey,
  startOnce,
  withinDeadline,
} from '../temporal/idempotency.js';
import type { Principal } from '../../lib/jwt-verifier.js';
import { createSpendCheck } from '../wallets/wallet-access.js';
import type { GatewayDeps } from '../gateway-deps.js';
import { publicTransfer } from './public-transfer.js';
import {
  decodeListCursor,
  encodeListCursor,
  listRecords,
  mergeListPage,
  readOwnedRecord,
} from './transfer-records.js';
import {
  describeOwnedTransfer,
  isTerminal,
  preferWaitSeconds,
  queryTransfer,
  readTransfer,
  transferFromExecution,
  transferStatusClause,
  TRANSFER_WORKFLOW,
} from './transfer-reader.js';

const TransferParams = z.object({
  transfer_id: resourceId.openapi({ param: { name: 'transfer_id', in: 'path' } }),
});
const TransferPage = z
  .object({ items: z.array(TransferSchema), next_cursor: z.string().nullable() })
  .openapi('TransferPage');
const transferJson = { 'application/json': { schema: TransferSchema } };

const createTransfer = createRoute({
  method: 'post',
  path: '/',
  tags: ['Transfers'],
  summary: 'Move money from one of your wallets to any wallet',
  description:
    'Requires `Idempotency-Key` (scoped to the caller). `Prefer: wait=N` (N ≤ 30) answers with the transfer once it is settled or awaits its confirmation code, if that happens in time. Amounts above 9007199254740991 → `422 amount_too_large`. Steps carry `error_code` and a fixed message only.',
  security: bearerSecurity,
  request: {
    headers: IdempotencyKeyHeader.extend({ prefer: z.string().optional().openapi({ example: 'wait=10' }) }),
    body: { required: true, content: { 'application/json': { schema: CreateTransferBody } } },
  },
  responses: {
    200: {
      description: 'settled within the wait (or an idempotent replay of a settled transfer)',
      content: transferJson,
    },
    202: { description: 'accepted; poll the Location', content: transferJson },
    ...problemResponses(400, 401, 403, 404, 413, 415, 429, 503),
    ...problemCodes({
      422: ['amount_too_large', 'idempotency_key_mismatch', 'same_wallet', 'currency_mismatch'],
    }),
  },
});

const getTransferRoute = createRoute({
  method: 'get',
  path: '/{transfer_id}',
  tags: ['Transfers'],
  summary: 'One transfer (also after completion)',
  security: bearerSecurity,
  request: { params: TransferParams },
  responses: {
    200: { description: 'transfer', content: transferJson },
    ...problemResponses(400, 401, 404, 429, 503),
  },
});

const listTransfers = createRoute({
  method: 'get',
  path: '/',
  tags: ['Transfers'],
  summary: "The caller's transfers, newest first",
  description:
    'Transfers from their durable records, merged with those still running or just closed: `steps` is empty in list items (`GET /v1/transfers/{transfer_id}` has the full steps). The cursor is a position in the list, stable while transfers close and are archived.',
  security: bearerSecurity,
  request: {
    query: z.object({
      status: z.enum(TRANSFER_STATUSES).optional(),
      limit: z.coerce.number().int().min(1).max(50).optional(),
      cursor: z
        .string()
        .max(4096)
        .regex(/^[A-Za-z0-9_-]*$/, 'must be a cursor from a previous page')
        .optional(),
    }),
  },
  responses: {
    200: { description: 'page of transfers', content: { 'application/json': { schema: TransferPage } } },
    ...problemResponses(400, 401, 429, 503),
  },
});

const confirmTransfer = createRoute({
  method: 'post',
  path: '/{transfer_id}/confirm',
  tags: ['Transfers'],
  summary: 'Step-up: confirm a large transfer with the OTP code',
  security: bearerSecurity,
  request: {
    params: TransferParams,
    body: { required: true, content: { 'application/json': { schema: ConfirmTransferBody } } },
  },
  responses: {
    200: { description: 'transfer', content: transferJson },
    ...problemResponses(400, 401, 404, 409, 422, 429, 503),
  },
});

const cancelTransferRoute = createRoute({
  method: 'post',
  path: '/{transfer_id}/cancel',
  tags: ['Transfers'],
  summary: 'Cancel a transfer before its funds are captured',
  security: bearerSecurity,
  request: { params: TransferParams },
  responses: {
    200: { description: 'transfer', content: transferJson },
    ...problemResponses(401, 404, 409, 429, 503),
  },
});

/** Client-facing wording for the update refusals listed in transfer-contract.ts. */
const UPDATE_DETAIL: Record<string, string> = {
  validation_failed: 'the code must be exactly 6 digits',
  not_awaiting_confirmation: 'this transfer is not waiting for a code',
  otp_verification_in_progress: 'a code is being checked already',
  otp_invalid: 'wrong code',
  otp_failed: 'too many wrong codes: the transfer was cancelled',
  otp_expired: 'the code expired: the transfer was cancelled',
  upstream_unavailable: 'the code could not be checked right now; try again',
  cannot_cancel: 'the funds were already captured; the transfer cannot be cancelled',
};

/** How long a cancel waits for its answer (the workflow answers once the outcome is decided). */
const CANCEL_DEADLINE_MS = 15_000;
/**
 * A confirm outlives the OTP check it waits for (the verify activity's retries, 30 s): a code
 * is not answered "unavailable" while AuthService is still being asked. Past it the client gets
 * 503 and its retry reattaches to the same Update (stable id per transfer and code).
 */
const CONFIRM_DEADLINE_MS = msToNumber(otpActivityOptions.scheduleToCloseTimeout ?? '30s') + 5_000;

/** Runs a transfer Update, turning its refusals into problems with the workflow's own code. */
async function runUpdate(
  client: Client,
  fallbackCode: string,
  update: () => Promise<Transfer>,
  deadlineMs = CANCEL_DEADLINE_MS,
): Promise<Transfer> {
  try {
    return await client.withDeadline(Date.now() + deadlineMs, update);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const code = applicationFailureType(err) ?? fallbackCode;
      throw new ProblemError(
        DOMAIN_STATUS[code] ?? 409,
        code,
        UPDATE_DETAIL[code] ?? 'the transfer refused this action',
        applicationFailureDetails(err),
      );
    }
    // Updating a closed workflow: NOT_FOUND ("already completed") or FAILED_PRECONDITION.
    if (
      err instanceof WorkflowNotFoundError ||
      (isGrpcServiceError(err) && [5, 9].includes(Number(err.code)))
    ) {
      throw new ProblemError(409, 'transfer_finalized', 'the transfer has already finished');
    }
    // Still running at the deadline: the Update goes on; a retry with the same id reattaches.
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) {
      throw orchestratorBusy();
    }
    throw err;
  }
}

/** Visibility query strings are built from verified values only; refuse anything that could escape a literal. */
function literal(value: string): string {
  if (!/^[A-Za-z0-9:._@-]{1,128}$/.test(value))
    throw new ProblemError(400, 'bad_request', 'unsupported principal id');
  return `'${value}'`;
}

const orchestratorBusy = () =>
  new ProblemError(
    503,
    'orchestrator_unavailable',
    'the transaction coordinator is busy; retry later',
    {},
    {
      'retry-after': '2',
    },
  );

/**
 * The runs of one user that visibility answers in a list: running, or closed within the
 * archive sweep's lag (about a minute). More than this many running at once would be cut short.
 */
const LIVE_PAGE_SIZE = 1000;

/** The fields of a create request; `Idempotency-Key` replays must carry the same ones. */
type TransferRequest = Pick<
  Transfer,
  'from_wallet_id' | 'to_wallet_id' | 'amount' | 'currency' | 'description'
>;

/**
 * True when an existing transfer is the one this request asks for. The view carries every field
 * the request hash covers, so a replay is recognised from the answer itself, without a describe.
 */
function sameRequest(t: Transfer, request: TransferRequest): boolean {
  return (
    t.from_wallet_id === request.from_wallet_id &&
    t.to_wallet_id === request.to_wallet_id &&
    t.amount === request.amount &&
    t.currency === request.currency &&
    t.description === request.description
  );
}

const keyMismatch = () =>
  new ProblemError(
    422,
    'idempotency_key_mismatch',
    'this Idempotency-Key was already used with a different request body',
  );

/** A transfer this call just started: nothing has run yet, so the input is the whole view. */
function startedView(input: TransferInput): Transfer {
  return {
    id: input.transfer_id,
    status: 'pending',
    from_wallet_id: input.from_wallet_id,
    to_wallet_id: input.to_wallet_id,
    amount: input.amount,
    currency: input.currency,
    description: input.description,
    steps: [],
    created_at: input.created_at,
  };
}

/** `/v1/transfers`: every transfer is a `transferWorkflow`; state is read back with its query. */
export function createTransferRoutes(deps: GatewayDeps) {
  const app = createRouter();
  const temporal = deps.temporal;
  const rpcMs = deps.config.TEMPORAL_RPC_TIMEOUT_MS;
  const inputKey = workflowInputKey(deps.config.WORKFLOW_INPUT_KEY);
  // Owner and currency of a wallet never change: one WalletService read per source wallet, not
  // one per transfer.
  const spendableWallet = createSpendCheck(deps.wallet);
  /**
   * The contract's start options; the gateway adds its task queue and, to the memo written once
   * at start, the request's correlation ids and `created_at` (so a list item read from
   * visibility has the same position as the same transfer's record later; transfer-records.ts).
   */
  const startOptions = (input: TransferInput, trace: { request_id: string; traceparent: string }) => {
    const options = transferStartOptions(input);
    return {
      ...options,
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      memo: { ...options.memo, created_at: input.created_at, ...trace },
    };
  };
  type StartOptions = ReturnType<typeof startOptions>;
  const findOwned = (id: string, principal: Principal, access: 'read' | 'act') =>
    withinDeadline(temporal, rpcMs, () => describeOwnedTransfer(temporal, id, principal, access));

  /**
   * An Idempotency-Key replay whose transfer already exists: the existing transfer if it is the
   * same request — a closed one answers its result, a running one its current view.
   */
  async function replayed(handle: WorkflowHandle, request: TransferRequest): Promise<Transfer> {
    let description;
    try {
      description = await withinDeadline(temporal, rpcMs, () => handle.describe());
    } catch (err) {
      // Started moments ago by a call whose answer was lost: not visible yet, retry later.
      if (err instanceof WorkflowNotFoundError) throw orchestratorBusy();
      throw err;
    }
    if (description.type !== TRANSFER_WORKFLOW) throw keyMismatch();
    let transfer: Transfer | undefined;
    if (description.status.name === 'RUNNING') {
      transfer = await queryTransfer(temporal, handle, 2000);
    } else {
      transfer = await withinDeadline(temporal, rpcMs, () => handle.result() as Promise<Transfer>).catch(
        () => undefined,
      );
    }
    transfer ??= transferFromExecution(description);
    if (!sameRequest(transfer, request)) throw keyMismatch();
    return transfer;
  }

  /** Without `Prefer: wait`: one start call; only a replay costs more. */
  async function start(input: TransferInput, options: StartOptions, request: TransferRequest) {
    const { handle, started } = await startOnce(temporal, TRANSFER_WORKFLOW, options, rpcMs);
    return started ? startedView(input) : await replayed(handle, request);
  }

  /**
   * `Prefer: wait`: Update-with-Start. One call starts the transfer (or attaches to the running
   * one with this id) and waits, inside Temporal, for `waitForTransfer` to answer — no polling.
   * At the deadline, one query (or describe) gives the current view.
   */
  async function startAndWait(
    input: TransferInput,
    options: StartOptions,
    request: TransferRequest,
    waitMs: number,
  ): Promise<Transfer> {
    const handle = temporal.workflow.getHandle(options.workflowId);
    let transfer: Transfer;
    try {
      transfer = await temporal.withDeadline(Date.now() + waitMs, () =>
        temporal.workflow.executeUpdateWithStart(waitForTransfer, {
          startWorkflowOperation: new WithStartWorkflowOperation(TRANSFER_WORKFLOW, {
            ...options,
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        }),
      );
    } catch (err) {
      // The id belongs to a closed transfer (never run twice), or it closed while we asked.
      if (
        err instanceof WorkflowExecutionAlreadyStartedError ||
        err instanceof WorkflowNotFoundError ||
        err instanceof WorkflowUpdateFailedError
      ) {
        return replayed(handle, request);
      }
      if (!(err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err))) throw err;
      // Still running at the deadline: answer 202 with where it stands.
      const live = await queryTransfer(temporal, handle, 1000);
      if (live) {
        if (!sameRequest(live, request)) throw keyMismatch();
        return live;
      }
      // No worker answered, or the wait ran out before the start was even recorded (a busy
      // cluster): a plain start either starts it now or finds it and reads it from visibility.
      return start(input, options, request);
    }
    if (!sameRequest(transfer, request)) throw keyMismatch();
    return transfer;
  }

  app.use('*', authenticate(deps.verifyToken, deps.isRevoked));
  app.use(
    '*',
    rateLimit(deps.rateLimiter, 'user', (c) => c.var.principal.subject),
  );

  app.openapi(createTransfer, async (c) => {
    const principal = c.var.principal;
    requireUser(principal);
    const key = requireIdempotencyKey(c);
    const body = c.req.valid('json');
    if (body.from_wallet_id === body.to_wallet_id) {
      throw new ProblemError(422, 'same_wallet', 'from_wallet_id and to_wallet_id must differ');
    }
    // BOLA: the source must be the caller's own wallet; the destination may be anyone's.
    const source = await spendableWallet(c, body.from_wallet_id, principal);
    if (source.currency !== body.currency) {
      throw new ProblemError(422, 'currency_mismatch', `the source wallet holds ${source.currency}`);
    }

    const transferId = deriveId('transfer', principal.subject, key);
    const request: TransferRequest = {
      from_wallet_id: body.from_wallet_id,
      to_wallet_id: body.to_wallet_id,
      amount: body.amount.toString(),
      currency: body.currency,
      description: body.description ?? '',
    };
    // Signed last, over every other field: the workers move only what the gateway asked for,
    // for whom it asked.
    const input: TransferInput = signWorkflowInput(
      {
        transfer_id: transferId,
        ...request,
        initiated_by: {
          user_id: principal.subject,
          client_id: principal.clientId,
          token_jti: principal.tokenId,
          ip: c.var.clientIp,
          user_agent: (c.req.header('user-agent') ?? '').slice(0, 256),
        },
        request_hash: requestHash(request),
        created_at: new Date().toISOString(),
      },
      inputKey,
    );

    const options = startOptions(input, { request_id: c.var.requestId, traceparent: c.var.traceparent });

    const waitSeconds = preferWaitSeconds(c.req.header('prefer'));
    const transfer =
      waitSeconds > 0
        ? await startAndWait(input, options, request, waitSeconds * 1000)
        : await start(input, options, request);
    if (waitSeconds > 0) c.header('preference-applied', `wait=${waitSeconds}`);
    c.header('location', `/v1/transfers/${transferId}`);
    return c.json(publicTransfer(transfer), isTerminal(transfer) ? 200 : 202);
  });

  app.openapi(getTransferRoute, async (c) => {
    const { transfer_id } = c.req.valid('param');
    const principal = c.var.principal;
    let owned;
    try {
      owned = await findOwned(transfer_id, principal, 'read');
    } catch (err) {
      // Temporal does not know it (retention passed, or deleted): its durable record, same
      // shape, same ownership rule.
      if (!(err instanceof ProblemError && err.problem.code === 'transfer_not_found')) throw err;
      const archived = await readOwnedRecord(deps, c, transfer_id, principal);
      if (!archived) throw err;
      return c.json(publicTransfer(archived), 200);
    }
    return c.json(publicTransfer(await readTransfer(temporal, owned.handle, owned.description, 3000)), 200);
  });

  app.openapi(listTransfers, async (c) => {
    const principal = c.var.principal;
    requireUser(principal);
    const { status, limit = 20, cursor } = c.req.valid('query');
    const after = decodeListCursor(cursor);
    // The archive first (one more than the page, to know whether another follows), then the
    // runs it may not hold yet: running, or closed after the close time it is complete up to.
    const archive = await listRecords(deps, c, {
      user: principal.subject,
      ...(status ? { status } : {}),
      ...(after ? { after } : {}),
      limit: limit + 1,
    });
    let query =
      `WorkflowType = '${TRANSFER_WORKFLOW}' AND ${searchAttributes.InitiatedBy.name} = ${literal(principal.subject)}` +
      ` AND (ExecutionStatus = 'Running' OR CloseTime > ${literal(archive.archivedThrough)})`;
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
    return c.json(
      {
        // Items carry no steps (GET /v1/transfers/{id} has them), whichever source they came from.
        items: merged.items.map((t) => publicTransfer({ ...t, steps: [] })),
        next_cursor: merged.next ? encodeListCursor(merged.next) : null,
      },
      200,
    );
  });

  app.openapi(confirmTransfer, async (c) => {
    const { transfer_id } = c.req.valid('param');
    const { code } = c.req.valid('json');
    const { handle } = await findOwned(transfer_id, c.var.principal, 'act');
    // One Update per (transfer, code): a retried confirm — the answer lost, or the same code sent
    // again — reattaches to the first one and gets its answer, even after the transfer closed;
    // a wrong code retried does not count twice. A new code on a closed transfer is refused.
    const updateId = deriveUpdateId(inputKey, 'confirm', handle.workflowId, code);
    const transfer = await runUpdate(
      temporal,
      'not_awaiting_confirmation',
      () => handle.executeUpdate(confirmOtp, { args: [{ code }], updateId }),
      CONFIRM_DEADLINE_MS,
    ).catch((err: unknown) => {
      if (err instanceof ProblemError && err.problem.code === 'transfer_finalized') {
        throw new ProblemError(409, 'not_awaiting_confirmation', UPDATE_DETAIL.not_awaiting_confirmation!);
      }
      throw err;
    });
    return c.json(publicTransfer(transfer), 200);
  });

  app.openapi(cancelTransferRoute, async (c) => {
    const { transfer_id } = c.req.valid('param');
    const { handle, description } = await findOwned(transfer_id, c.var.principal, 'act');
    if (description.status.name !== 'RUNNING') {
      // A finished transfer: cancelling a cancelled (or failed) one again is a no-op that
      // answers with it; a completed one moved the money and cannot be cancelled.
      const finished = await readTransfer(temporal, handle, description, 3000);
      if (finished.status === 'completed') {
        throw new ProblemError(409, 'cannot_cancel', UPDATE_DETAIL.cannot_cancel!);
      }
      return c.json(publicTransfer(finished), 200);
    }
    const transfer = await runUpdate(temporal, 'cannot_cancel', () => handle.executeUpdate(cancelTransfer));
    return c.json(publicTransfer(transfer), 200);
  });

  return app;
}
