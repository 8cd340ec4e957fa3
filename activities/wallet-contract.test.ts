/**
 * The money-moving activities against the real WalletService and AuthService (their apps on
 * the test PostgreSQL, Redis and MongoDB, served over HTTP, called with the real HTTP client):
 * the SAGA's promises hold on the actual idempotency, hold and record semantics, not only on
 * the in-memory model the workflow tests use.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from '../auth/testing/harness.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import type { WalletHarness } from '../wallet/testing/wallet-harness.js';
import { transferWorkflowId, type TransferInput } from '../workflows/transfer-contract.js';
import type { TransferRecords } from './index.js';
import { LIVE_WORKFLOW_INPUT_KEY, startLiveUpstreams, type LiveUpstreams } from './testing/live-upstreams.js';
import { failure, workflow } from './testing/mock-activity.js';

let auth: Harness;
let wallet: WalletHarness;
let activities: LiveUpstreams['activities'];
let upstreams: LiveUpstreams | undefined;

beforeAll(async () => {
  upstreams = await startLiveUpstreams();
  ({ auth, wallet, activities } = upstreams);
});

afterAll(async () => {
  await upstreams?.close();
});

/** An active user of AuthService who owns a USD wallet funded with `funded`, and a payee. */
async function payerAndPayee(funded: bigint) {
  const user = await auth.createUser();
  const res = await wallet.call('POST', '/internal/wallets', {
    body: { user_id: user.id, currency: 'USD' },
    key: randomUUID(),
  });
  expect(res.status).toBe(201);
  const from = String((res.body as { id: string }).id);
  if (funded > 0n) {
    const dep = await wallet.call('POST', `/internal/wallets/${from}/deposits`, {
      body: { amount: funded.toString(), currency: 'USD', reference: `funding-${randomUUID()}` },
      key: randomUUID(),
    });
    expect(dep.status).toBe(201);
  }
  const to = await wallet.wallet('USD');
  return { user, from, to };
}

function unsignedTransfer(p: { user: { id: string }; from: string; to: string }, amount: string) {
  return {
    transfer_id: randomUUID(),
    from_wallet_id: p.from,
    to_wallet_id: p.to,
    amount,
    currency: 'USD',
    description: 'contract test',
    initiated_by: {
      user_id: p.user.id,
      client_id: 'velora-web',
      token_jti: randomUUID(),
      ip: '203.0.113.7',
      user_agent: 'vitest',
    },
    request_hash: 'sha256:test',
    created_at: new Date().toISOString(),
  };
}

function signed(p: { user: { id: string }; from: string; to: string }, amount: string): TransferInput {
  return signWorkflowInput(unsignedTransfer(p, amount), LIVE_WORKFLOW_INPUT_KEY);
}

function records(
  t: TransferInput,
  outcome: 'completed' | 'failed' | 'cancelled',
  failure_code?: string,
): TransferRecords {
  return {
    auth_log: {
      transfer_id: t.transfer_id,
      workflow_id: transferWorkflowId(t.transfer_id),
      user_id: t.initiated_by.user_id,
      client_id: t.initiated_by.client_id,
      token_jti: t.initiated_by.token_jti,
      ip: t.initiated_by.ip,
      user_agent: t.initiated_by.user_agent,
      step_up: false,
      outcome,
      ...(failure_code === undefined ? {} : { failure_code }),
    },
    audit: [
      {
        step: 'reserve',
        status: outcome === 'completed' ? 'completed' : 'failed',
        attempt: 1,
        duration_ms: 4,
      },
      { step: 'step_up', status: 'skipped', attempt: 0, duration_ms: 0 },
    ],
  };
}

describe('transfer activities against WalletService and AuthService', () => {
  it('reserve → capture moves the money once, every step retried, and records auth log + audit', async () => {
    const p = await payerAndPayee(10_000n);
    const t = signed(p, '2500');
    const wf = workflow(transferWorkflowId(t.transfer_id));

    const hold = await wf.run(activities.reserveTransfer, { transfer: t, hold_ttl_seconds: 3600 });
    expect(hold.step_up_required).toBe(false);
    const again = await wf.run(activities.reserveTransfer, { transfer: t, hold_ttl_seconds: 3600 });
    expect(again.hold_id).toBe(hold.hold_id); // a retry after a lost answer
    expect(await wallet.balance(p.from)).toMatchObject({ posted: '10000', available: '7500' });

    const capture = {
      hold_id: hold.hold_id,
      to_wallet_id: p.to,
      amount: '2500',
      records: records(t, 'completed'),
    };
    const first = await wf.run(activities.captureTransfer, capture);
    const second = await wf.run(activities.captureTransfer, capture);
    expect(second.transaction_id).toBe(first.transaction_id);
    expect(await wallet.balance(p.from)).toMatchObject({ posted: '7500', available: '7500', pending: '0' });
    expect(await wallet.balance(p.to)).toMatchObject({ posted: '2500', available: '2500' });

    // The records reached MongoDB through the outbox, once each.
    await wallet.relay.drainAll();
    const authLog = await wallet.mongo
      .collection('transaction_auth_log')
      .find({ transfer_id: t.transfer_id })
      .toArray();
    expect(authLog).toHaveLength(1);
    expect(authLog[0]).toMatchObject({ user_id: p.user.id, outcome: 'completed', step_up: false });
    const audit = await wallet.mongo.collection('audit_trace').find({ transfer_id: t.transfer_id }).toArray();
    expect(audit.map((a) => `${String(a.step)}:${String(a.status)}`).sort()).toEqual([
      'reserve:completed',
      'step_up:skipped',
    ]);
  });

  it('asks for step-up at the threshold', async () => {
    const p = await payerAndPayee(200_000n);
    const t = signed(p, '100000');
    const res = await workflow(transferWorkflowId(t.transfer_id)).run(activities.reserveTransfer, {
      transfer: t,
      hold_ttl_seconds: 3600,
    });
    expect(res.step_up_required).toBe(true);
  });

  it('a refused reserve holds nothing; the release then frees nothing and still records', async () => {
    const p = await payerAndPayee(1_000n);
    const t = signed(p, '2500');
    const wf = workflow(transferWorkflowId(t.transfer_id));
    const err = await failure(wf.run(activities.reserveTransfer, { transfer: t, hold_ttl_seconds: 3600 }));
    expect(err).toMatchObject({ type: 'insufficient_funds', nonRetryable: true });
    expect(await wallet.balance(p.from)).toMatchObject({ posted: '1000', available: '1000', pending: '0' });

    const released = await wf.run(activities.releaseTransfer, {
      transfer_id: t.transfer_id,
      records: records(t, 'failed', 'insufficient_funds'),
    });
    expect(released.released).toBe(false);
    await wallet.relay.drainAll();
    const authLog = await wallet.mongo
      .collection('transaction_auth_log')
      .find({ transfer_id: t.transfer_id })
      .toArray();
    expect(authLog).toHaveLength(1);
    expect(authLog[0]).toMatchObject({ outcome: 'failed', failure_code: 'insufficient_funds' });
  });

  it.each([
    ['someone else’s source wallet', 'not_authorized'],
    ['an amount over the per-transfer limit', 'limit_exceeded'],
  ])('refuses %s as non-retryable %s', async (name, code) => {
    const p = await payerAndPayee(10_000_000n);
    const stranger = await auth.createUser();
    const t =
      name === 'an amount over the per-transfer limit'
        ? signed(p, '9000000')
        : signed({ ...p, user: stranger }, '100');
    const err = await failure(
      workflow(transferWorkflowId(t.transfer_id)).run(activities.reserveTransfer, {
        transfer: t,
        hold_ttl_seconds: 3600,
      }),
    );
    expect(err).toMatchObject({ type: code, nonRetryable: true });
    expect((await wallet.balance(p.from)).available).toBe('10000000');
  });

  it('refuses an unsigned or forged input before any call; nothing is held', async () => {
    const p = await payerAndPayee(10_000n);
    const unsigned = unsignedTransfer(p, '9000');
    for (const signature of ['', 'Zm9yZ2VkLXNpZ25hdHVyZQ']) {
      const t: TransferInput = { ...unsigned, signature };
      const err = await failure(
        workflow(transferWorkflowId(t.transfer_id)).run(activities.reserveTransfer, {
          transfer: t,
          hold_ttl_seconds: 3600,
        }),
      );
      expect(err).toMatchObject({ type: 'not_authorized', nonRetryable: true });
    }
    expect(await wallet.balance(p.from)).toMatchObject({ posted: '10000', available: '10000', pending: '0' });
  });

  it('releases a hold whose reserve answer was lost, found by transfer id, idempotently', async () => {
    const p = await payerAndPayee(10_000n);
    const t = signed(p, '4000');
    const wf = workflow(transferWorkflowId(t.transfer_id));
    await wf.run(activities.reserveTransfer, { transfer: t, hold_ttl_seconds: 3600 }); // answer "lost"
    expect((await wallet.balance(p.from)).available).toBe('6000');

    const rec = records(t, 'failed', 'internal_error');
    expect(
      await wf.run(activities.releaseTransfer, { transfer_id: t.transfer_id, records: rec }),
    ).toMatchObject({
      released: true,
    });
    // A retry of the release answers the same (its idempotency record).
    expect(
      await wf.run(activities.releaseTransfer, { transfer_id: t.transfer_id, records: rec }),
    ).toMatchObject({
      released: true,
    });
    expect(await wallet.balance(p.from)).toMatchObject({ posted: '10000', available: '10000', pending: '0' });
  });

  it('a capture into a frozen wallet is refused; the release frees the hold', async () => {
    const p = await payerAndPayee(10_000n);
    const t = signed(p, '3000');
    const wf = workflow(transferWorkflowId(t.transfer_id));
    const { hold_id } = await wf.run(activities.reserveTransfer, { transfer: t, hold_ttl_seconds: 3600 });
    const frozen = await wallet.call('POST', `/internal/wallets/${p.to}/freeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    expect(frozen.status).toBe(200);

    const err = await failure(
      wf.run(activities.captureTransfer, {
        hold_id,
        to_wallet_id: p.to,
        amount: '3000',
        records: records(t, 'completed'),
      }),
    );
    expect(err).toMatchObject({ type: 'wallet_frozen', nonRetryable: true });
    const released = await wf.run(activities.releaseTransfer, {
      transfer_id: t.transfer_id,
      records: records(t, 'failed', 'wallet_frozen'),
    });
    expect(released.released).toBe(true);
    expect(await wallet.balance(p.from)).toMatchObject({ posted: '10000', available: '10000', pending: '0' });
    expect((await wallet.balance(p.to)).posted).toBe('0');
  });
});

describe('deposit and sweep against WalletService', () => {
  it('deposits a signed input once per workflow', async () => {
    const id = await wallet.wallet('USD');
    const wf = workflow(`deposit-${randomUUID()}`);
    const input = signWorkflowInput(
      {
        wallet_id: id,
        amount: '700',
        currency: 'USD',
        reference: `bank-${randomUUID()}`,
        requested_by: 'admin',
      },
      LIVE_WORKFLOW_INPUT_KEY,
    );
    const first = await wf.run(activities.depositFunds, input);
    const again = await wf.run(activities.depositFunds, input);
    expect(again.transaction_id).toBe(first.transaction_id);
    expect(await wallet.balance(id)).toMatchObject({ posted: '700', available: '700' });
  });

  it('refuses an unsigned deposit (it would mint money): nothing is credited', async () => {
    const id = await wallet.wallet('USD');
    const err = await failure(
      workflow(`deposit-${randomUUID()}`).run(activities.depositFunds, {
        wallet_id: id,
        amount: '1000000',
        currency: 'USD',
        reference: `bank-${randomUUID()}`,
        requested_by: 'mallory',
        signature: '',
      }),
    );
    expect(err).toMatchObject({ type: 'not_authorized', nonRetryable: true });
    expect(await wallet.balance(id)).toMatchObject({ posted: '0', available: '0' });
  });

  it('runs the hold-expiry sweep', async () => {
    const res = await workflow(`hold-expiry-${randomUUID()}`).run(activities.expireHolds);
    expect(typeof res.expired).toBe('number');
  });

  it('reads from the journal whether the transfer was captured (the check before resolveAsCompleted)', async () => {
    const p = await payerAndPayee(10_000n);
    const t = signed(p, '2500');
    const wf = workflow(transferWorkflowId(t.transfer_id));
    const check = { transfer_id: t.transfer_id, to_wallet_id: p.to, amount: '2500' };
    expect(await wf.run(activities.checkTransferCaptured, check)).toMatchObject({ captured: false });
    const { hold_id } = await wf.run(activities.reserveTransfer, { transfer: t, hold_ttl_seconds: 3600 });
    expect(await wf.run(activities.checkTransferCaptured, check)).toMatchObject({ captured: false });
    const { transaction_id } = await wf.run(activities.captureTransfer, {
      hold_id,
      to_wallet_id: p.to,
      amount: '2500',
      records: records(t, 'completed'),
    });
    expect(await wf.run(activities.checkTransferCaptured, check)).toEqual({
      captured: true,
      transaction_id,
      attempt: 1,
    });
    // Another destination or amount than the transfer's is not its capture.
    expect(await wf.run(activities.checkTransferCaptured, { ...check, amount: '2499' })).toMatchObject({
      captured: false,
    });
  });
});
