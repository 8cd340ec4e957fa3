import { createRoute, z } from '@hono/zod-openapi';
import {
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  type WorkflowHandle,
} from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers.js';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import type { Principal } from '../../lib/jwt-verifier.js';
import { requireIdempotencyKey } from '../../lib/idempotency-key.js';
import { ProblemError } from '../../lib/problem.js';
import { signWorkflowInput } from '../../lib/workflow-input-signature.js';
import { searchAttributes } from '../../temporal-config/index.js';
import {
  cancelWithdrawal,
  confirmWithdrawalOtp,
  getWithdrawal,
  WITHDRAWAL_STATUSES,
  WITHDRAWAL_TERMINAL_STATUSES,
  WITHDRAWAL_WORKFLOW_TYPE,
  waitForWithdrawal,
  withdrawalStartOptions,
  withdrawalWorkflowId,
  type Withdrawal,
  type WithdrawalInput,
  type WithdrawalStatus,
} from '../../workflows/withdrawal-contract.js';
import { withdrawalWorkflow } from '../../workflows/withdrawal-workflow.js';
import { bearerSecurity, createRouter } from '../openapi/router.js';
import {
  amountSchema,
  ConfirmTransferBody,
  currencySchema,
  IdempotencyKeyHeader,
  problemCodes,
  problemResponses,
  resourceId,
} from '../openapi/schemas.js';
import { isAdmin, requireUser } from '../http/authn.js';
import { applicationFailureDetails, applicationFailureType, domainStatus } from '../http/errors.js';
import type { GatewayMiddleware } from '../http/route-middleware.js';
import type { Upstream } from '../http/upstream.js';
import { deriveId, deriveUpdateId, startOnce, withinDeadline } from '../temporal/idempotency.js';
import type { Orchestrator } from '../temporal/orchestrator.js';
import {
  idempotencyKeyMismatch,
  isClosedWorkflowError,
  orchestratorBusy,
  visibilityLiteral,
} from '../temporal/workflow-problems.js';
import { preferWaitSeconds } from '../transfers/transfer-reader.js';
import { loadAccessibleWallet } from '../wallets/wallet-access.js';
import { publicWithdrawal, WithdrawalSchema } from './public-withdrawal.js';

const CreateWithdrawalBody = z
  .strictObject({
    amount: amountSchema,
    currency: currencySchema,
    destination: z.strictObject({
      account_holder: z.string().trim().min(1).max(140),
      iban: z
        .string()
        .transform((v) => v.replaceAll(' ', '').toUpperCase())
        .refine(
          (v) => /^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/.test(v) && ibanChecksumOk(v),
          'must be a valid IBAN',
        ),
    }),
    description: z.string().max(140).optional(),
  })
  .openapi('CreateWithdrawalRequest');

/** ISO 13616 check digits (mod 97 = 1): a mistyped IBAN is refused before any money is held. */
function ibanChecksumOk(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of rearranged) {
    const digits = /[0-9]/.test(ch) ? ch : String(ch.charCodeAt(0) - 55);
    for (const d of digits) rest = (rest * 10 + Number(d)) % 97;
  }
  return rest === 1;
}

const withdrawalJson = { 'application/json': { schema: WithdrawalSchema } };
const WalletParams = z.object({
  wallet_id: resourceId.openapi({ param: { name: 'wallet_id', in: 'path' } }),
});
const WithdrawalParams = z.object({
  withdrawal_id: resourceId.openapi({ param: { name: 'withdrawal_id', in: 'path' } }),
});

const createWithdrawal = createRoute({
  method: 'post',
  path: '/{wallet_id}/withdrawals',
  tags: ['Withdrawals'],
  summary: 'Pay money out of your wallet to a bank account',
  description:
    'Requires `Idempotency-Key`. The funds are held, the payout provider is asked once, and the withdrawal completes when the provider confirms (its webhook). Same limits and OTP step-up as transfers; withdrawals count toward the daily limit. `Prefer: wait=N` answers once it is submitted, settled or awaits its code.',
  security: bearerSecurity,
  request: {
    params: WalletParams,
    headers: IdempotencyKeyHeader.extend({ prefer: z.string().optional().openapi({ example: 'wait=10' }) }),
    body: { required: true, content: { 'application/json': { schema: CreateWithdrawalBody } } },
  },
  responses: {
    200: {
      description: 'settled within the wait, or an idempotent replay of a settled one',
      content: withdrawalJson,
    },
    202: { description: 'accepted; poll the Location', content: withdrawalJson },
    ...problemResponses(400, 401, 403, 404, 413, 415, 429, 503),
    ...problemCodes({
      422: ['amount_too_large', 'idempotency_key_mismatch', 'currency_mismatch', 'validation_failed'],
    }),
  },
});

const getWithdrawalRoute = createRoute({
  method: 'get',
  path: '/{withdrawal_id}',
  tags: ['Withdrawals'],
  summary: 'One withdrawal',
  security: bearerSecurity,
  request: { params: WithdrawalParams },
  responses: {
    200: { description: 'withdrawal', content: withdrawalJson },
    ...problemResponses(401, 404, 429, 503),
  },
});

const listWithdrawals = createRoute({
  method: 'get',
  path: '/',
  tags: ['Withdrawals'],
  summary: "The caller's withdrawals, newest first",
  description: 'From visibility in one call: `steps` are empty in list items.',
  security: bearerSecurity,
  request: {
    query: z.object({
      status: z.enum(WITHDRAWAL_STATUSES).optional(),
      limit: z.coerce.number().int().min(1).max(50).optional(),
      cursor: z
        .string()
        .max(4096)
        .regex(/^[A-Za-z0-9_-]*$/)
        .optional(),
    }),
  },
  responses: {
    200: {
      description: 'page of withdrawals',
      content: {
        'application/json': {
          schema: z
            .object({ items: z.array(WithdrawalSchema), next_cursor: z.string().nullable() })
            .openapi('WithdrawalPage'),
        },
      },
    },
    ...problemResponses(400, 401, 429, 503),
  },
});

const confirmWithdrawal = createRoute({
  method: 'post',
  path: '/{withdrawal_id}/confirm',
  tags: ['Withdrawals'],
  summary: 'Step-up: confirm a large withdrawal with the OTP code',
  security: bearerSecurity,
  request: {
    params: WithdrawalParams,
    body: { required: true, content: { 'application/json': { schema: ConfirmTransferBody } } },
  },
  responses: {
    200: { description: 'withdrawal', content: withdrawalJson },
    ...problemResponses(400, 401, 404, 409, 422, 429, 503),
  },
});

const cancelWithdrawalRoute = createRoute({
  method: 'post',
  path: '/{withdrawal_id}/cancel',
  tags: ['Withdrawals'],
  summary: 'Cancel a withdrawal before it is submitted to the payout provider',
  description:
    'The hold is released and the withdrawal ends `cancelled` (`cancelled_by_user`). Once submitted, the provider decides: `409 cannot_cancel`. A withdrawal that already failed or was cancelled answers as it is.',
  security: bearerSecurity,
  request: { params: WithdrawalParams },
  responses: {
    200: { description: 'withdrawal', content: withdrawalJson },
    ...problemResponses(401, 404, 409, 429, 503),
  },
});

const cannotCancel = () =>
  new ProblemError(
    409,
    'cannot_cancel',
    'the withdrawal was submitted to the payout provider; it can no longer be cancelled',
  );

const notFound = () => new ProblemError(404, 'withdrawal_not_found', 'no such withdrawal');

type WithdrawalRequest = Pick<Withdrawal, 'wallet_id' | 'amount' | 'currency' | 'description'> & {
  iban_last4: string;
  account_holder: string;
};
const sameRequest = (w: Withdrawal, r: WithdrawalRequest) =>
  w.wallet_id === r.wallet_id &&
  w.amount === r.amount &&
  w.currency === r.currency &&
  w.description === r.description &&
  w.destination.account_holder === r.account_holder &&
  w.destination.iban_last4 === r.iban_last4;

function startedView(input: WithdrawalInput): Withdrawal {
  return {
    id: input.withdrawal_id,
    status: 'pending',
    wallet_id: input.wallet_id,
    amount: input.amount,
    currency: input.currency,
    destination: {
      account_holder: input.destination.account_holder,
      iban_last4: input.destination.iban.slice(-4),
    },
    description: input.description,
    steps: [],
    created_at: input.created_at,
  };
}

/** A withdrawal as visibility knows it (list items, or while no worker answers). */
function fromExecution(info: {
  workflowId: string;
  memo?: Record<string, unknown> | undefined;
  typedSearchAttributes: { get: (k: never) => unknown };
  startTime: Date;
  closeTime?: Date | undefined;
}): Withdrawal {
  const get = (k: unknown) => info.typedSearchAttributes.get(k as never);
  const memo = info.memo ?? {};
  const failure = get(searchAttributes.TransferFailureCode) as string | undefined;
  return {
    id:
      typeof memo.withdrawal_id === 'string'
        ? memo.withdrawal_id
        : info.workflowId.replace(/^withdrawal-/, ''),
    status: (get(searchAttributes.WithdrawalStatus) as WithdrawalStatus | undefined) ?? 'pending',
    wallet_id: (get(searchAttributes.FromWalletId) as string | undefined) ?? '',
    amount: (() => {
      const amount = get(searchAttributes.TransferAmount);
      return typeof amount === 'number' ? BigInt(amount).toString() : '';
    })(),
    currency: (get(searchAttributes.TransferCurrency) as string | undefined) ?? '',
    destination: {
      account_holder: typeof memo.account_holder === 'string' ? memo.account_holder : '',
      iban_last4: typeof memo.iban_last4 === 'string' ? memo.iban_last4 : '',
    },
    description: typeof memo.description === 'string' ? memo.description : '',
    steps: [],
    ...(failure === undefined ? {} : { failure_code: failure as Withdrawal['failure_code'] }),
    created_at: info.startTime.toISOString(),
    ...(info.closeTime ? { completed_at: info.closeTime.toISOString() } : {}),
  };
}

export interface WithdrawalRouteDeps {
  orchestrator: Orchestrator;
  /** WalletService: the BOLA check of the wallet paid out of. */
  wallet: Upstream;
  /** A valid, unrevoked token, then the caller's per-user budget (route-middleware.ts). */
  signedIn: readonly GatewayMiddleware[];
  /** `WITHDRAWAL_PAYOUT_TIMEOUT_MS` and `WITHDRAWAL_LATE_RESULT_WINDOW_MS`, signed into each input. */
  payout: { timeoutMs: number; lateResultWindowMs: number };
}

/**
 * `POST /v1/wallets/:wallet_id/withdrawals`, `/v1/withdrawals…`: every withdrawal is a
 * `withdrawalWorkflow` (workflows/withdrawal-contract.ts), read back with its query.
 */
export function createWithdrawalRoutes(deps: WithdrawalRouteDeps) {
  const { temporal, taskQueue, rpcMs, inputKey } = deps.orchestrator;
  const { signedIn, payout } = deps;

  async function query(handle: WorkflowHandle, ms: number): Promise<Withdrawal | undefined> {
    try {
      return await temporal.withDeadline(Date.now() + ms, () => handle.query(getWithdrawal));
    } catch {
      return undefined;
    }
  }

  async function findOwned(id: string, principal: Principal, access: 'read' | 'act') {
    const handle = temporal.workflow.getHandle(withdrawalWorkflowId(id));
    const description = await withinDeadline(temporal, rpcMs, () => handle.describe()).catch(
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) throw notFound();
        throw err;
      },
    );
    if (description.type !== WITHDRAWAL_WORKFLOW_TYPE) throw notFound();
    const own =
      !principal.isService &&
      description.typedSearchAttributes.get(searchAttributes.InitiatedBy) === principal.subject;
    if (!own && !(access === 'read' && isAdmin(principal))) throw notFound();
    return { handle, description };
  }

  async function replayed(handle: WorkflowHandle, request: WithdrawalRequest): Promise<Withdrawal> {
    const description = await withinDeadline(temporal, rpcMs, () => handle.describe()).catch(
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) throw orchestratorBusy();
        throw err;
      },
    );
    if (description.type !== WITHDRAWAL_WORKFLOW_TYPE) throw idempotencyKeyMismatch();
    const w = (await query(handle, 2000)) ?? fromExecution(description);
    if (!sameRequest(w, request)) throw idempotencyKeyMismatch();
    return w;
  }

  // --- /v1/wallets/:wallet_id/withdrawals ------------------------------------------------------
  const wallets = createRouter();
  wallets.use('/:wallet_id/withdrawals', ...signedIn);
  wallets.openapi(createWithdrawal, async (c) => {
    const principal = c.var.principal;
    requireUser(principal);
    const key = requireIdempotencyKey(c);
    const { wallet_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const wallet = await loadAccessibleWallet(deps.wallet, c, wallet_id, principal, 'spend');
    if (wallet.currency !== body.currency)
      throw new ProblemError(422, 'currency_mismatch', `the wallet holds ${wallet.currency}`);
    const withdrawalId = deriveId('withdrawal', principal.subject, key);
    const request: WithdrawalRequest = {
      wallet_id,
      amount: body.amount.toString(),
      currency: body.currency,
      description: body.description ?? '',
      account_holder: body.destination.account_holder,
      iban_last4: body.destination.iban.slice(-4),
    };
    // Signed last, over every other field: the workers pay out only what the gateway asked for.
    const input: WithdrawalInput = signWorkflowInput(
      {
        withdrawal_id: withdrawalId,
        wallet_id,
        amount: request.amount,
        currency: request.currency,
        destination: { account_holder: body.destination.account_holder, iban: body.destination.iban },
        description: request.description,
        initiated_by: {
          user_id: principal.subject,
          client_id: principal.clientId,
          token_jti: principal.tokenId,
          ip: c.var.clientIp,
          user_agent: (c.req.header('user-agent') ?? '').slice(0, 256),
        },
        created_at: new Date().toISOString(),
        payout_timeout_ms: payout.timeoutMs,
        late_result_window_ms: payout.lateResultWindowMs,
      },
      inputKey,
    );
    const base = withdrawalStartOptions(input);
    const options = {
      ...base,
      taskQueue,
      memo: { ...base.memo, request_id: c.var.requestId, traceparent: c.var.traceparent },
    };
    const waitSeconds = preferWaitSeconds(c.req.header('prefer'));
    let withdrawal: Withdrawal;
    if (waitSeconds > 0) {
      const handle = temporal.workflow.getHandle(options.workflowId);
      try {
        withdrawal = await temporal.withDeadline(Date.now() + waitSeconds * 1000, () =>
          temporal.workflow.executeUpdateWithStart(waitForWithdrawal, {
            startWorkflowOperation: new WithStartWorkflowOperation(withdrawalWorkflow, {
              ...options,
              workflowIdConflictPolicy: 'USE_EXISTING',
            }),
          }),
        );
        if (!sameRequest(withdrawal, request)) throw idempotencyKeyMismatch();
      } catch (err) {
        if (err instanceof ProblemError) throw err;
        if (
          err instanceof WorkflowExecutionAlreadyStartedError ||
          err instanceof WorkflowNotFoundError ||
          err instanceof WorkflowUpdateFailedError
        ) {
          withdrawal = await replayed(handle, request);
        } else if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) {
          const live = await query(handle, 1000);
          if (live && !sameRequest(live, request)) throw idempotencyKeyMismatch();
          withdrawal = live ?? startedView(input);
        } else throw err;
      }
      c.header('preference-applied', `wait=${waitSeconds}`);
    } else {
      const { handle, started } = await startOnce(temporal, withdrawalWorkflow, options, rpcMs);
      withdrawal = started ? startedView(input) : await replayed(handle, request);
    }
    c.header('location', `/v1/withdrawals/${withdrawalId}`);
    return c.json(
      publicWithdrawal(withdrawal),
      WITHDRAWAL_TERMINAL_STATUSES.includes(withdrawal.status) ? 200 : 202,
    );
  });

  // --- /v1/withdrawals -------------------------------------------------------------------------
  const withdrawals = createRouter();
  withdrawals.use('*', ...signedIn);

  withdrawals.openapi(getWithdrawalRoute, async (c) => {
    const { withdrawal_id } = c.req.valid('param');
    const { handle, description } = await findOwned(withdrawal_id, c.var.principal, 'read');
    const w = (await query(handle, 3000)) ?? fromExecution(description);
    return c.json(publicWithdrawal(w), 200);
  });

  withdrawals.openapi(listWithdrawals, async (c) => {
    const principal = c.var.principal;
    requireUser(principal);
    const { status, limit, cursor } = c.req.valid('query');
    let q = `WorkflowType = '${WITHDRAWAL_WORKFLOW_TYPE}' AND ${searchAttributes.InitiatedBy.name} = ${visibilityLiteral(principal.subject)}`;
    if (status) q += ` AND ${searchAttributes.WithdrawalStatus.name} = '${status}'`;
    const items: ReturnType<typeof publicWithdrawal>[] = [];
    let token: Uint8Array | undefined = cursor ? Buffer.from(cursor, 'base64url') : undefined;
    const page = await withinDeadline(temporal, rpcMs, () =>
      temporal.workflowService.listWorkflowExecutions({
        namespace: temporal.options.namespace,
        pageSize: limit ?? 20,
        nextPageToken: token,
        query: q,
      }),
    );
    for (const raw of page.executions ?? []) {
      const info = await executionInfoFromRaw(
        raw,
        temporal.options.loadedDataConverter,
        raw,
        temporal.options.namespace,
      );
      items.push(publicWithdrawal(fromExecution(info)));
    }
    token = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
    return c.json({ items, next_cursor: token ? Buffer.from(token).toString('base64url') : null }, 200);
  });

  withdrawals.openapi(confirmWithdrawal, async (c) => {
    const { withdrawal_id } = c.req.valid('param');
    const { code } = c.req.valid('json');
    const { handle } = await findOwned(withdrawal_id, c.var.principal, 'act');
    const updateId = deriveUpdateId(inputKey, 'confirm', handle.workflowId, code);
    try {
      const w = await temporal.withDeadline(Date.now() + 35_000, () =>
        handle.executeUpdate(confirmWithdrawalOtp, { args: [{ code }], updateId }),
      );
      return c.json(publicWithdrawal(w), 200);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const type = applicationFailureType(err) ?? 'not_awaiting_confirmation';
        throw new ProblemError(
          domainStatus(type) ?? 409,
          type,
          'the withdrawal refused this code',
          applicationFailureDetails(err),
        );
      }
      if (err instanceof WorkflowNotFoundError) {
        throw new ProblemError(409, 'not_awaiting_confirmation', 'this withdrawal is not waiting for a code');
      }
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err))
        throw orchestratorBusy();
      throw err;
    }
  });

  withdrawals.openapi(cancelWithdrawalRoute, async (c) => {
    const { withdrawal_id } = c.req.valid('param');
    const { handle, description } = await findOwned(withdrawal_id, c.var.principal, 'act');
    if (description.status.name !== 'RUNNING') {
      const finished = (await query(handle, 3000)) ?? fromExecution(description);
      if (finished.status === 'completed') throw cannotCancel();
      return c.json(publicWithdrawal(finished), 200);
    }
    try {
      const w = await temporal.withDeadline(Date.now() + 15_000, () =>
        handle.executeUpdate(cancelWithdrawal),
      );
      return c.json(publicWithdrawal(w), 200);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        if (applicationFailureType(err) === 'cannot_cancel') throw cannotCancel();
        throw err;
      }
      // It closed meanwhile (NOT_FOUND "already completed" or FAILED_PRECONDITION): answer it as it ended.
      if (isClosedWorkflowError(err)) {
        const ended = (await query(handle, 3000)) ?? fromExecution(await handle.describe());
        if (ended.status === 'completed') throw cannotCancel();
        return c.json(publicWithdrawal(ended), 200);
      }
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err))
        throw orchestratorBusy();
      throw err;
    }
  });

  return { wallets, withdrawals };
}
