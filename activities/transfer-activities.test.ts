import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import {
  UpstreamUnavailableError,
  type HttpClient,
  type RequestOptions,
  type UpstreamResult,
} from '../lib/http-client.js';
import { problem } from '../lib/problem.js';
import { Counter, Registry } from 'prom-client';
import { createActivities, type ActivityDeps } from './index.js';

interface Sent {
  service: string;
  method: string;
  path: string;
  body?: unknown;
  idempotencyKey?: string;
}

type Responder = (method: string, path: string, options: RequestOptions) => UpstreamResult<unknown> | Error;

/** An HttpClient double answering from a route table, recording what was sent. */
function fakeClient(name: string, sent: Sent[], respond: Responder): HttpClient {
  return {
    name,
    async request<T>(method: string, path: string, options: RequestOptions = {}) {
      sent.push({
        service: name,
        method,
        path,
        ...(options.body === undefined ? {} : { body: options.body }),
        ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
      });
      const res = respond(method, path, options);
      if (res instanceof Error) throw res;
      return res as UpstreamResult<T>;
    },
  };
}

const ok = (data: unknown, status = 200): UpstreamResult<unknown> => ({
  ok: true,
  status,
  data,
  headers: new Headers(),
});
const refuse = (
  status: number,
  code: string,
  ext: Record<string, unknown> = {},
): UpstreamResult<unknown> => ({
  ok: false,
  status,
  problem: problem(status, code, code.replaceAll('_', ' '), ext),
  headers: new Headers(),
});

const USER = {
  user_id: 'u1',
  email: 'a@example.test',
  status: 'active',
  roles: ['user'],
  tier: 'unverified',
  limits: { per_transfer: '500000', daily: '2000000' },
};
const wallet = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  user_id: 'u1',
  currency: 'USD',
  status: 'active',
  balance: { posted: '0', pending: '0', available: '0' },
  created_at: '2026-01-01T00:00:00Z',
  ...extra,
});

function setup(routes: { auth?: Responder; wallet?: Responder }, extra: Partial<ActivityDeps> = {}) {
  const sent: Sent[] = [];
  const notFound: Responder = (method, path) => refuse(404, `no_route ${method} ${path}`);
  const activities = createActivities({
    auth: fakeClient('auth', sent, routes.auth ?? notFound),
    wallet: fakeClient('wallet', sent, routes.wallet ?? notFound),
    config: { transferStepUpThreshold: 100_000n },
    now: () => new Date('2026-06-01T12:00:00Z'),
    ...extra,
  });
  const env = (attempt = 1) =>
    new MockActivityEnvironment({ workflowExecution: { workflowId: 'transfer-t1', runId: 'r1' }, attempt });
  return { sent, activities, env };
}

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

const authorizeInput = {
  transfer_id: 't1',
  from_wallet_id: 'w-from',
  to_wallet_id: 'w-to',
  amount: '150000',
  currency: 'USD',
  user_id: 'u1',
};

const standardWallet: Responder = (_m, path) => {
  if (path === '/internal/wallets/w-from') return ok(wallet('w-from'));
  if (path === '/internal/wallets/w-to') return ok(wallet('w-to', { user_id: 'u2' }));
  if (path.startsWith('/internal/users/u1/volume')) return ok({ amount: '1000000' });
  return refuse(404, 'wallet_not_found');
};

describe('authorizeTransfer', () => {
  it('checks user, wallets and the rolling-24h volume, and asks for step-up at the threshold', async () => {
    const { sent, activities, env } = setup({ auth: () => ok(USER), wallet: standardWallet });
    const result = await env(2).run(activities.authorizeTransfer, authorizeInput);
    expect(result).toEqual({ step_up_required: true, attempt: 2 });
    const volume = sent.find((s) => s.path.includes('/volume'))!;
    expect(volume.path).toBe('/internal/users/u1/volume?currency=USD&since=2026-05-31T12%3A00%3A00.000Z');
  });

  it('does not ask for step-up below the threshold', async () => {
    const { activities, env } = setup({ auth: () => ok(USER), wallet: standardWallet });
    const result = await env().run(activities.authorizeTransfer, { ...authorizeInput, amount: '99999' });
    expect(result).toEqual({ step_up_required: false, attempt: 1 });
  });

  it.each([
    ['a disabled user', { auth: () => ok({ ...USER, status: 'disabled' }) }, 'not_authorized'],
    ['an unknown user', { auth: () => refuse(404, 'user_not_found') }, 'not_authorized'],
    [
      'someone else’s source wallet',
      {
        wallet: (m: string, p: string) =>
          p === '/internal/wallets/w-from'
            ? ok(wallet('w-from', { user_id: 'u9' }))
            : standardWallet(m, p, {}),
      },
      'not_authorized',
    ],
    [
      'a source wallet in another currency',
      {
        wallet: (m: string, p: string) =>
          p === '/internal/wallets/w-from'
            ? ok(wallet('w-from', { currency: 'EUR' }))
            : standardWallet(m, p, {}),
      },
      'currency_mismatch',
    ],
    [
      'a frozen destination',
      {
        wallet: (m: string, p: string) =>
          p === '/internal/wallets/w-to'
            ? ok(wallet('w-to', { status: 'frozen' }))
            : standardWallet(m, p, {}),
      },
      'wallet_frozen',
    ],
    [
      'a missing destination',
      {
        wallet: (m: string, p: string) =>
          p === '/internal/wallets/w-to' ? refuse(404, 'wallet_not_found') : standardWallet(m, p, {}),
      },
      'wallet_not_found',
    ],
    [
      'an amount over the per-transfer limit',
      { auth: () => ok({ ...USER, limits: { per_transfer: '100000', daily: '9000000' } }) },
      'limit_exceeded',
    ],
    [
      'an amount over the rolling-24h limit',
      { auth: () => ok({ ...USER, limits: { per_transfer: '500000', daily: '1100000' } }) },
      'limit_exceeded',
    ],
  ] as [string, { auth?: Responder; wallet?: Responder }, string][])(
    'refuses %s as a non-retryable %s',
    async (_name, routes, code) => {
      const { activities, env } = setup({
        auth: routes.auth ?? (() => ok(USER)),
        wallet: routes.wallet ?? standardWallet,
      });
      const err = await failure(env().run(activities.authorizeTransfer, authorizeInput));
      expect(err.type).toBe(code);
      expect(err.nonRetryable).toBe(true);
    },
  );

  it('treats an outage as retryable', async () => {
    const { activities, env } = setup({
      auth: () => new UpstreamUnavailableError('auth', 'GET /internal/users/u1 failed: ECONNREFUSED'),
    });
    const err = await failure(env().run(activities.authorizeTransfer, authorizeInput));
    expect(err.type).toBe('upstream_unavailable');
    expect(err.nonRetryable).toBe(false);
  });

  it.each([500, 503, 429, 401])('treats HTTP %i as retryable', async (status) => {
    const { activities, env } = setup({ auth: () => refuse(status, `http_${status}`) });
    const err = await failure(env().run(activities.authorizeTransfer, authorizeInput));
    expect(err.type).toBe('upstream_unavailable');
    expect(err.nonRetryable).toBe(false);
  });
});

describe('money-moving steps', () => {
  const reserveInput = {
    transfer_id: 't1',
    wallet_id: 'w-from',
    amount: '2500',
    currency: 'USD',
    expires_at: '2026-06-01T13:00:00.000Z',
  };

  it('reserve sends the hold with the step’s idempotency key', async () => {
    const { sent, activities, env } = setup({ wallet: () => ok({ id: 'h1', status: 'active' }, 201) });
    expect(await env().run(activities.reserveFunds, reserveInput)).toEqual({ hold_id: 'h1', attempt: 1 });
    expect(sent).toEqual([
      {
        service: 'wallet',
        method: 'POST',
        path: '/internal/holds',
        body: {
          wallet_id: 'w-from',
          amount: '2500',
          currency: 'USD',
          transfer_id: 't1',
          expires_at: '2026-06-01T13:00:00.000Z',
        },
        idempotencyKey: 'transfer-t1:reserve',
      },
    ]);
  });

  it('reserve reports insufficient funds as a non-retryable domain failure', async () => {
    const { activities, env } = setup({ wallet: () => refuse(422, 'insufficient_funds') });
    const err = await failure(env().run(activities.reserveFunds, reserveInput));
    expect(err).toMatchObject({ type: 'insufficient_funds', nonRetryable: true });
  });

  it('release with an unknown hold id replays the reserve request by key, then releases that hold', async () => {
    const { sent, activities, env } = setup({
      wallet: (_m, path) =>
        path === '/internal/holds'
          ? ok({ id: 'h7', status: 'active' }, 201)
          : ok({ id: 'h7', status: 'released' }),
    });
    expect(await env().run(activities.releaseFunds, reserveInput)).toEqual({ released: true, attempt: 1 });
    expect(sent.map((s) => `${s.method} ${s.path} ${s.idempotencyKey}`)).toEqual([
      'POST /internal/holds transfer-t1:reserve',
      'POST /internal/holds/h7/release transfer-t1:release',
    ]);
    // The very same body as the reserve step, or the wallet would refuse the key as reused.
    expect(sent[0]!.body).toEqual(reserveInput);
  });

  it('release of an unseen hold past its expiry leaves it to the sweep', async () => {
    const { sent, activities, env } = setup({ wallet: () => ok({ id: 'h7' }, 201) });
    const expired = { ...reserveInput, expires_at: '2026-06-01T11:59:00.000Z' };
    expect(await env().run(activities.releaseFunds, expired)).toEqual({ released: false, attempt: 1 });
    expect(sent).toEqual([]);
  });

  it('release finds nothing to undo when the replayed reserve is refused', async () => {
    const { sent, activities, env } = setup({ wallet: () => refuse(422, 'insufficient_funds') });
    expect(await env().run(activities.releaseFunds, reserveInput)).toEqual({ released: false, attempt: 1 });
    expect(sent).toHaveLength(1);
  });

  it('release of an expired hold succeeds; of a captured one it fails loudly', async () => {
    const expired = setup({ wallet: () => refuse(409, 'hold_not_active') });
    expect(
      await expired.env().run(expired.activities.releaseFunds, { ...reserveInput, hold_id: 'h1' }),
    ).toEqual({ released: false, attempt: 1 });
    const captured = setup({ wallet: () => refuse(409, 'hold_already_captured') });
    const err = await failure(
      captured.env().run(captured.activities.releaseFunds, { ...reserveInput, hold_id: 'h1' }),
    );
    expect(err).toMatchObject({ type: 'hold_already_captured', nonRetryable: true });
  });

  it('capture credits the destination with the capture key', async () => {
    const { sent, activities, env } = setup({
      wallet: () => ok({ hold: { id: 'h1' }, transaction_id: 'tx1' }),
    });
    expect(
      await env(3).run(activities.captureFunds, { hold_id: 'h1', to_wallet_id: 'w-to', amount: '2500' }),
    ).toEqual({
      transaction_id: 'tx1',
      attempt: 3,
    });
    expect(sent[0]).toMatchObject({
      path: '/internal/holds/h1/capture',
      body: { to_wallet_id: 'w-to', amount: '2500' },
      idempotencyKey: 'transfer-t1:capture',
    });
  });

  it('finalize writes the auth log and one audit entry per step, each with its own key', async () => {
    const { sent, activities, env } = setup({ wallet: () => ok({ accepted: true }, 202) });
    await env().run(activities.finalizeTransfer, {
      transfer_id: 't1',
      initiated_by: { user_id: 'u1', client_id: 'web', token_jti: 'j1', ip: '203.0.113.7', user_agent: 'ua' },
      step_up: false,
      audit: [
        { transfer_id: 't1', step: 'authorize', status: 'completed', attempt: 1, duration_ms: 12 },
        {
          transfer_id: 't1',
          step: 'reserve',
          status: 'failed',
          attempt: 2,
          duration_ms: 30,
          error: 'wallet: insufficient funds',
        },
      ],
    });
    expect(sent.map((s) => `${s.path} ${s.idempotencyKey}`)).toEqual([
      '/internal/auth-log transfer-t1:auth-log',
      '/internal/audit-trace transfer-t1:audit:0:authorize:completed',
      '/internal/audit-trace transfer-t1:audit:1:reserve:failed',
    ]);
    expect(sent[0]!.body).toMatchObject({
      transfer_id: 't1',
      workflow_id: 'transfer-t1',
      user_id: 'u1',
      token_jti: 'j1',
      step_up: false,
    });
    expect(sent[2]!.body).toMatchObject({
      workflow_id: 'transfer-t1',
      step: 'reserve',
      error: 'wallet: insufficient funds',
    });
  });
});

describe('metrics', () => {
  it('counts a finalized transfer by outcome and failure code', async () => {
    const registry = new Registry();
    const transfersFinished = new Counter({
      name: 'orchestrator_transfers_finished_total',
      help: 'test',
      labelNames: ['outcome', 'failure_code'] as const,
      registers: [registry],
    });
    const { activities, env } = setup({ wallet: () => ok({ accepted: true }, 202) }, { transfersFinished });
    const initiated_by = {
      user_id: 'u1',
      client_id: 'web',
      token_jti: 'j1',
      ip: '203.0.113.7',
      user_agent: 'ua',
    };
    await env().run(activities.finalizeTransfer, {
      transfer_id: 't1',
      initiated_by,
      step_up: false,
      audit: [],
      outcome: 'completed' as const,
    });
    await env().run(activities.finalizeTransfer, {
      transfer_id: 't2',
      initiated_by,
      step_up: false,
      audit: [],
      outcome: 'failed' as const,
      failure_code: 'insufficient_funds',
    });
    const text = await registry.metrics();
    expect(text).toContain('orchestrator_transfers_finished_total{outcome="completed",failure_code=""} 1');
    expect(text).toContain(
      'orchestrator_transfers_finished_total{outcome="failed",failure_code="insufficient_funds"} 1',
    );
  });
});

describe('step-up OTP', () => {
  it('sends a step_up code referencing the transfer', async () => {
    const { sent, activities, env } = setup({
      auth: () => ok({ challenge_id: 'c1', expires_at: '2026-06-01T12:10:00Z' }, 201),
    });
    expect(await env().run(activities.sendStepUpOtp, { user_id: 'u1', transfer_id: 't1' })).toMatchObject({
      challenge_id: 'c1',
    });
    expect(sent[0]).toMatchObject({
      path: '/internal/otp/send',
      body: { user_id: 'u1', purpose: 'step_up', reference: 't1' },
      idempotencyKey: 'transfer-t1:step-up-send',
    });
  });

  it('reports a wrong code as otp_invalid with the attempts left', async () => {
    const { sent, activities, env } = setup({ auth: () => refuse(422, 'otp_invalid', { attempts_left: 2 }) });
    const err = await failure(
      env().run(activities.verifyStepUpOtp, {
        challenge_id: 'c1',
        user_id: 'u1',
        code: '000000',
        try_number: 1,
      }),
    );
    expect(err).toMatchObject({ type: 'otp_invalid', nonRetryable: true });
    expect(err.details?.[0]).toMatchObject({ attempts_left: 2 });
    expect(sent[0]!.idempotencyKey).toBe('transfer-t1:step-up-verify:1');
  });
});

describe('onboarding, deposit and sweep', () => {
  it('create user → wallet → activate, and disable as the undo', async () => {
    const { sent, activities, env } = setup({
      auth: (_m, path) =>
        path === '/internal/users'
          ? ok({ user_id: 'u5', status: 'pending', existing: false }, 201)
          : ok({ user_id: 'u5', status: path.endsWith('disable') ? 'disabled' : 'active' }),
      wallet: () => ok(wallet('w5', { user_id: 'u5' }), 201),
    });
    const e = env();
    expect(await e.run(activities.createUser, { registration_id: 'reg1' })).toEqual({
      user_id: 'u5',
      status: 'pending',
      existing: false,
    });
    expect(await e.run(activities.createWallet, { user_id: 'u5', currency: 'USD' })).toEqual({
      wallet_id: 'w5',
    });
    expect(await e.run(activities.activateUser, { user_id: 'u5' })).toEqual({ status: 'active' });
    expect(await e.run(activities.disableUser, { user_id: 'u5', reason: 'test' })).toEqual({
      status: 'disabled',
    });
    expect(sent.map((s) => `${s.method} ${s.path} ${s.idempotencyKey}`)).toEqual([
      'POST /internal/users transfer-t1:create-user',
      'POST /internal/wallets transfer-t1:create-wallet',
      'POST /internal/users/u5/activate transfer-t1:activate-user',
      'POST /internal/users/u5/disable transfer-t1:disable-user',
    ]);
  });

  it('deposit returns the transaction and the new balance', async () => {
    const { sent, activities, env } = setup({
      wallet: () => ok({ transaction_id: 'tx9', wallet: wallet('w1') }, 201),
    });
    const res = await env().run(activities.depositFunds, {
      wallet_id: 'w1',
      amount: '100',
      currency: 'USD',
      reference: 'r1',
    });
    expect(res).toMatchObject({ transaction_id: 'tx9', wallet: { id: 'w1' }, attempt: 1 });
    expect(sent[0]).toMatchObject({
      path: '/internal/wallets/w1/deposits',
      body: { amount: '100', currency: 'USD', reference: 'r1' },
    });
  });

  it('the sweep reports how many holds expired', async () => {
    const { activities, env } = setup({ wallet: () => ok({ expired: 3 }) });
    expect(await env().run(activities.expireHolds)).toEqual({ expired: 3 });
  });
});
