import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import {
  UpstreamUnavailableError,
  type HttpClient,
  type RequestOptions,
  type UpstreamResult,
} from '../lib/http-client.js';
import { problem } from '../lib/problem.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import { Counter, Registry } from 'prom-client';
import { createActiveUserCache } from './active-user-cache.js';
import { createActivities, type ActivityDeps } from './index.js';
import { failure } from './testing/mock-activity.js';

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

const KEY = Buffer.alloc(32, 3);

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
    config: { transferStepUpThreshold: 100_000n, workflowInputKey: KEY },
    ...extra,
  });
  const env = (attempt = 1) =>
    new MockActivityEnvironment({ workflowExecution: { workflowId: 'transfer-t1', runId: 'r1' }, attempt });
  return { sent, activities, env };
}

const unsignedTransfer = {
  transfer_id: 't1',
  from_wallet_id: 'w-from',
  to_wallet_id: 'w-to',
  amount: '150000',
  currency: 'USD',
  description: 'rent',
  initiated_by: { user_id: 'u1', client_id: 'web', token_jti: 'j1', ip: '203.0.113.7', user_agent: 'ua' },
  request_hash: 'sha256:x',
  created_at: '2026-06-01T12:00:00.000Z',
};
const signedTransfer = (extra: Partial<typeof unsignedTransfer> = {}) =>
  signWorkflowInput({ ...unsignedTransfer, ...extra }, KEY);

const HOLD = {
  id: 'h1',
  wallet_id: 'w-from',
  amount: '150000',
  captured_amount: '0',
  currency: 'USD',
  status: 'active',
  transfer_id: 't1',
  expires_at: '2026-06-01T13:00:00.000Z',
};

const RECORDS = {
  auth_log: {
    transfer_id: 't1',
    workflow_id: 'transfer-t1',
    user_id: 'u1',
    client_id: 'web',
    token_jti: 'j1',
    ip: '203.0.113.7',
    user_agent: 'ua',
    step_up: false,
    outcome: 'completed' as const,
  },
  audit: [{ step: 'reserve', status: 'completed', attempt: 1, duration_ms: 12 }],
};

describe('reserveTransfer', () => {
  it('reads the user’s status and limits, then authorizes and holds in ONE wallet call', async () => {
    const { sent, activities, env } = setup({
      auth: () => ok(USER),
      wallet: () => ok({ hold: HOLD }, 201),
    });
    const result = await env(2).run(activities.reserveTransfer, {
      transfer: signedTransfer(),
      hold_ttl_seconds: 3600,
    });
    expect(result).toEqual({ hold_id: 'h1', step_up_required: true, attempt: 2 });
    expect(sent).toEqual([
      { service: 'auth', method: 'GET', path: '/internal/users/u1' },
      {
        service: 'wallet',
        method: 'POST',
        path: '/internal/transfers/t1/reserve',
        body: {
          user_id: 'u1',
          from_wallet_id: 'w-from',
          to_wallet_id: 'w-to',
          amount: '150000',
          currency: 'USD',
          limits: { per_transfer: '500000', daily: '2000000' },
          hold_ttl_seconds: 3600,
        },
        idempotencyKey: 'transfer-t1:reserve',
      },
    ]);
  });

  it('captures in the same wallet call when asked and no step-up is needed (migration 0046)', async () => {
    const captured = { ...HOLD, status: 'captured', capture_transaction_id: 'tx1' };
    const { sent, activities, env } = setup({
      auth: () => ok(USER),
      wallet: () => ok({ hold: captured, transaction_id: 'tx1', captured: true }, 201),
    });
    const asked = {
      ...RECORDS,
      audit: [
        { step: 'reserve', status: 'completed', attempt: 1, duration_ms: 0 },
        { step: 'step_up', status: 'skipped', attempt: 0, duration_ms: 0 },
      ],
    };
    const result = await env(3).run(activities.reserveTransfer, {
      transfer: signedTransfer({ amount: '2500' }),
      hold_ttl_seconds: 3600,
      capture: { records: asked },
    });
    expect(result).toEqual({
      hold_id: 'h1',
      step_up_required: false,
      captured: true,
      transaction_id: 'tx1',
      attempt: 3,
    });
    const call = sent.find((x) => x.service === 'wallet')!;
    expect(call.idempotencyKey).toBe('transfer-t1:reserve');
    const body = call.body as { capture: { idempotency_key: string; records: typeof asked } };
    expect(body.capture.idempotency_key).toBe('transfer-t1:capture');
    // The reserve's audit entry carries the attempt that captured; the rest as the workflow sent it.
    expect(body.capture.records.auth_log).toEqual(RECORDS.auth_log);
    expect(body.capture.records.audit.map((a) => `${a.step}:${a.status}:${a.attempt}`)).toEqual([
      'reserve:completed:3',
      'step_up:skipped:0',
    ]);
  });

  it('asks for no capture when the transfer needs a step-up, even when the workflow offers one', async () => {
    const { sent, activities, env } = setup({ auth: () => ok(USER), wallet: () => ok({ hold: HOLD }, 201) });
    const result = await env().run(activities.reserveTransfer, {
      transfer: signedTransfer(),
      hold_ttl_seconds: 3600,
      capture: { records: RECORDS },
    });
    expect(result).toEqual({ hold_id: 'h1', step_up_required: true, attempt: 1 });
    expect(sent.find((x) => x.service === 'wallet')!.body).not.toHaveProperty('capture');
  });

  it('does not ask for step-up below the threshold', async () => {
    const { activities, env } = setup({ auth: () => ok(USER), wallet: () => ok({ hold: HOLD }, 201) });
    const result = await env().run(activities.reserveTransfer, {
      transfer: signedTransfer({ amount: '99999' }),
      hold_ttl_seconds: 3600,
    });
    expect(result).toMatchObject({ step_up_required: false });
  });

  it.each([
    ['a missing signature', { ...unsignedTransfer, signature: '' }],
    ['a forged signature', { ...unsignedTransfer, signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['a signature under another key', signWorkflowInput(unsignedTransfer, Buffer.alloc(32, 4))],
    ['a signed input changed afterwards', { ...signedTransfer(), to_wallet_id: 'w-mallory' }],
    ['a signed input of another transfer id', signedTransfer({ transfer_id: 't2' })],
  ])('refuses %s as non-retryable not_authorized, calling nothing', async (_name, transfer) => {
    const { sent, activities, env } = setup({ auth: () => ok(USER), wallet: () => ok({ hold: HOLD }, 201) });
    const err = await failure(env().run(activities.reserveTransfer, { transfer, hold_ttl_seconds: 3600 }));
    expect(err).toMatchObject({ type: 'not_authorized', nonRetryable: true });
    expect(sent).toEqual([]);
  });

  it.each([
    ['a disabled user', { auth: () => ok({ ...USER, status: 'disabled' }) }, 'not_authorized'],
    ['an unknown user', { auth: () => refuse(404, 'user_not_found') }, 'not_authorized'],
    [
      'the wallet’s insufficient funds',
      { wallet: () => refuse(422, 'insufficient_funds') },
      'insufficient_funds',
    ],
    [
      'the wallet’s daily limit',
      { wallet: () => refuse(422, 'limit_exceeded', { limit: 'daily' }) },
      'limit_exceeded',
    ],
    ['the wallet’s frozen wallet', { wallet: () => refuse(409, 'wallet_frozen') }, 'wallet_frozen'],
    [
      'the wallet’s ownership refusal (403)',
      { wallet: () => refuse(403, 'not_authorized') },
      'not_authorized',
    ],
    ['the wallet’s hidden mismatch', { wallet: () => refuse(422, 'currency_mismatch') }, 'currency_mismatch'],
    // A late or retried reserve after the saga released the transfer: the wallet placed no hold.
    [
      'the wallet’s refusal of a released transfer',
      { wallet: () => refuse(409, 'transfer_released') },
      'transfer_released',
    ],
  ] as [string, { auth?: Responder; wallet?: Responder }, string][])(
    'refuses %s as a non-retryable domain failure',
    async (_name, routes, code) => {
      const { activities, env } = setup({
        auth: routes.auth ?? (() => ok(USER)),
        wallet: routes.wallet ?? (() => ok({ hold: HOLD }, 201)),
      });
      const err = await failure(
        env().run(activities.reserveTransfer, { transfer: signedTransfer(), hold_ttl_seconds: 3600 }),
      );
      expect(err).toMatchObject({ type: code, nonRetryable: true });
    },
  );

  it('treats an outage as retryable', async () => {
    const { activities, env } = setup({
      auth: () => new UpstreamUnavailableError('auth', 'GET /internal/users/u1 failed: ECONNREFUSED'),
    });
    const err = await failure(
      env().run(activities.reserveTransfer, { transfer: signedTransfer(), hold_ttl_seconds: 3600 }),
    );
    expect(err.type).toBe('upstream_unavailable');
    expect(err.nonRetryable).toBe(false);
  });

  it.each([500, 503, 429, 401, 403])('treats HTTP %i without a domain code as retryable', async (status) => {
    const { activities, env } = setup({
      auth: () => ok(USER),
      wallet: () => refuse(status, `http_${status}`),
    });
    const err = await failure(
      env().run(activities.reserveTransfer, { transfer: signedTransfer(), hold_ttl_seconds: 3600 }),
    );
    expect(err.type).toBe('upstream_unavailable');
    expect(err.nonRetryable).toBe(false);
  });
});

describe('reserveTransfer with the active-user cache', () => {
  const authCalls = (sent: Sent[]) => sent.filter((s) => s.service === 'auth').length;
  const reserveTwice = async (user: typeof USER, clock: { now: number }, gapMs: number) => {
    const { sent, activities, env } = setup(
      { auth: () => ok(user), wallet: () => ok({ hold: HOLD }, 201) },
      { activeUsers: createActiveUserCache({ ttlMs: 5000, now: () => clock.now }) },
    );
    const outcomes: (string | null | undefined)[] = [];
    for (const _ of [1, 2]) {
      const run = env().run(activities.reserveTransfer, {
        transfer: signedTransfer(),
        hold_ttl_seconds: 3600,
      });
      const result = await run.catch(() => undefined);
      outcomes.push(result ? (result as { hold_id: string }).hold_id : (await failure(run)).type);
      clock.now += gapMs;
    }
    return { sent, outcomes };
  };

  it('asks AuthService once for an active user who reserves again within the cache time', async () => {
    const { sent, outcomes } = await reserveTwice(USER, { now: 1_000 }, 4999);
    expect(outcomes).toEqual(['h1', 'h1']);
    expect(authCalls(sent)).toBe(1);
    // The wallet call carries the limits of the remembered answer, every time.
    expect(sent.filter((s) => s.service === 'wallet')).toHaveLength(2);
  });

  it('asks again once the cache time has passed', async () => {
    const { sent } = await reserveTwice(USER, { now: 1_000 }, 5001);
    expect(authCalls(sent)).toBe(2);
  });

  it('never remembers a user who is not active: each reserve asks and is refused', async () => {
    const { sent, outcomes } = await reserveTwice({ ...USER, status: 'disabled' }, { now: 1_000 }, 1);
    expect(outcomes).toEqual(['not_authorized', 'not_authorized']);
    expect(authCalls(sent)).toBe(2);
    expect(sent.filter((s) => s.service === 'wallet')).toHaveLength(0);
  });
});

describe('capture and release', () => {
  it('capture credits the destination and carries the records, with the capture key', async () => {
    const { sent, activities, env } = setup({
      wallet: () => ok({ hold: { ...HOLD, status: 'captured' }, transaction_id: 'tx1' }),
    });
    const input = { hold_id: 'h1', to_wallet_id: 'w-to', amount: '2500', records: RECORDS };
    expect(await env(3).run(activities.captureTransfer, input)).toEqual({
      transaction_id: 'tx1',
      attempt: 3,
    });
    expect(sent).toEqual([
      {
        service: 'wallet',
        method: 'POST',
        path: '/internal/holds/h1/capture',
        body: { to_wallet_id: 'w-to', amount: '2500', records: RECORDS },
        idempotencyKey: 'transfer-t1:capture',
      },
    ]);
  });

  it('capture reports a refusal as a non-retryable domain failure', async () => {
    const { activities, env } = setup({ wallet: () => refuse(409, 'wallet_frozen') });
    const err = await failure(
      env().run(activities.captureTransfer, {
        hold_id: 'h1',
        to_wallet_id: 'w-to',
        amount: '1',
        records: RECORDS,
      }),
    );
    expect(err).toMatchObject({ type: 'wallet_frozen', nonRetryable: true });
  });

  it('release frees the transfer’s hold by transfer id and carries the records', async () => {
    const { sent, activities, env } = setup({
      wallet: () => ok({ released: true, hold: { ...HOLD, status: 'released' } }),
    });
    const records = { ...RECORDS, auth_log: { ...RECORDS.auth_log, outcome: 'failed' as const } };
    expect(await env().run(activities.releaseTransfer, { transfer_id: 't1', records })).toEqual({
      released: true,
      attempt: 1,
    });
    expect(sent).toEqual([
      {
        service: 'wallet',
        method: 'POST',
        path: '/internal/transfers/t1/release',
        body: { records },
        idempotencyKey: 'transfer-t1:release',
      },
    ]);
  });

  it('release with no hold is fine (released: false); of a captured hold it fails loudly', async () => {
    const none = setup({ wallet: () => ok({ released: false, hold: null }) });
    expect(
      await none.env().run(none.activities.releaseTransfer, { transfer_id: 't1', records: RECORDS }),
    ).toEqual({ released: false, attempt: 1 });
    const captured = setup({ wallet: () => refuse(409, 'hold_already_captured') });
    const err = await failure(
      captured.env().run(captured.activities.releaseTransfer, { transfer_id: 't1', records: RECORDS }),
    );
    expect(err).toMatchObject({ type: 'hold_already_captured', nonRetryable: true });
  });

  it('release never touches another workflow’s transfer (a hand-started workflow naming it)', async () => {
    const { sent, activities, env } = setup({ wallet: () => ok({ released: true, hold: HOLD }) });
    expect(
      await env().run(activities.releaseTransfer, { transfer_id: 't-victim', records: RECORDS }),
    ).toEqual({
      released: false,
      attempt: 1,
    });
    expect(sent).toEqual([]);
  });
});

describe('metrics', () => {
  it('counts a finished transfer by outcome and failure code (capture and release)', async () => {
    const registry = new Registry();
    const transfersFinished = new Counter({
      name: 'orchestrator_transfers_finished_total',
      help: 'test',
      labelNames: ['outcome', 'failure_code'] as const,
      registers: [registry],
    });
    const { activities, env } = setup(
      {
        wallet: (_m, path) =>
          path.endsWith('/capture')
            ? ok({ hold: HOLD, transaction_id: 'tx1' })
            : ok({ released: false, hold: null }),
      },
      { transfersFinished },
    );
    await env().run(activities.captureTransfer, {
      hold_id: 'h1',
      to_wallet_id: 'w-to',
      amount: '1',
      records: RECORDS,
    });
    await env().run(activities.releaseTransfer, {
      transfer_id: 't1',
      records: {
        ...RECORDS,
        auth_log: { ...RECORDS.auth_log, outcome: 'failed' as const, failure_code: 'insufficient_funds' },
      },
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

  it('deposit verifies the signed input, then returns the transaction and the new balance', async () => {
    const { sent, activities, env } = setup({
      wallet: () => ok({ transaction_id: 'tx9', wallet: wallet('w1') }, 201),
    });
    const input = signWorkflowInput(
      { wallet_id: 'w1', amount: '100', currency: 'USD', reference: 'r1', requested_by: 'admin-1' },
      KEY,
    );
    const res = await env().run(activities.depositFunds, input);
    expect(res).toMatchObject({ transaction_id: 'tx9', wallet: { id: 'w1' }, attempt: 1 });
    expect(sent).toEqual([
      {
        service: 'wallet',
        method: 'POST',
        path: '/internal/wallets/w1/deposits',
        body: { amount: '100', currency: 'USD', reference: 'r1' },
        idempotencyKey: 'transfer-t1:deposit',
      },
    ]);
  });

  it('deposit refuses an unsigned or altered input (not_authorized) and credits nothing', async () => {
    const { sent, activities, env } = setup({
      wallet: () => ok({ transaction_id: 'tx9', wallet: wallet('w1') }, 201),
    });
    const signed = signWorkflowInput(
      { wallet_id: 'w1', amount: '100', currency: 'USD', reference: 'r1', requested_by: 'admin-1' },
      KEY,
    );
    for (const input of [
      { ...signed, signature: '' },
      { ...signed, amount: '100000000' },
    ]) {
      const err = await failure(env().run(activities.depositFunds, input));
      expect(err).toMatchObject({ type: 'not_authorized', nonRetryable: true });
    }
    expect(sent).toEqual([]);
  });

  it('the sweep reports how many holds expired', async () => {
    const { activities, env } = setup({ wallet: () => ok({ expired: 3 }) });
    expect(await env().run(activities.expireHolds)).toEqual({ expired: 3 });
  });
});
