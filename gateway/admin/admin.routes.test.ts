import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter, WorkflowNotFoundError } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyWorkflowInput, workflowInputKey } from '../../lib/workflow-input-signature.js';
import { depositWorkflowId } from '../../workflows/deposit-contract.js';
import { createHarness, type Harness } from '../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ temporal: true });
});
afterAll(async () => h?.close());

const body = (reference = `ref-${randomUUID()}`) => ({ amount: '100000', currency: 'USD', reference });

describe('POST /v1/admin/wallets/:wallet_id/deposits', () => {
  it('credits a wallet for an admin (201) and replays the same deposit for the same key', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const walletId = randomUUID();
    const key = randomUUID();
    const json = body();
    const first = await h.request(`/v1/admin/wallets/${walletId}/deposits`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': key },
      json,
    });
    expect(first.status).toBe(201);
    const credited = await first.json();
    expect(credited).toMatchObject({ status: 'completed', transaction_id: expect.any(String) });

    const again = await h.request(`/v1/admin/wallets/${walletId}/deposits`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': key },
      json,
    });
    expect(again.status).toBe(201);
    const replay = await again.json();
    expect(replay.deposit_id).toBe(credited.deposit_id);
    expect(replay.transaction_id).toBe(credited.transaction_id);

    const changed = await h.request(`/v1/admin/wallets/${walletId}/deposits`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': key },
      json: { ...json, amount: '100001' },
    });
    expect(changed.status).toBe(409);
    expect((await changed.json()).code).toBe('duplicate_reference');
  });

  it('credits once per (wallet, reference): other keys and other admins get the original deposit', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const other = await h.user({ roles: ['admin'] });
    const walletId = randomUUID();
    const json = body();
    const deposit = (auth: Record<string, string>, payload: unknown, wallet = walletId) =>
      h.request(`/v1/admin/wallets/${wallet}/deposits`, {
        method: 'POST',
        headers: { ...auth, 'idempotency-key': randomUUID() },
        json: payload,
      });

    const first = await deposit(admin.auth, json);
    expect(first.status).toBe(201);
    const credited = await first.json();
    const [again, byOther] = await Promise.all([deposit(admin.auth, json), deposit(other.auth, json)]);
    for (const res of [again, byOther]) {
      expect(res.status).toBe(201);
      const replay = await res.json();
      expect(replay.deposit_id).toBe(credited.deposit_id);
      expect(replay.transaction_id).toBe(credited.transaction_id);
    }
    await vi.waitFor(
      async () => {
        let runs = 0;
        for await (const _ of h.temporal.workflow.list({
          query: `WorkflowId = '${depositWorkflowId(walletId, json.reference)}'`,
        }))
          runs++;
        expect(runs).toBe(1);
      },
      { timeout: 10_000, interval: 200 },
    );

    for (const changed of [
      { ...json, amount: '100001' },
      { ...json, currency: 'EUR' },
    ]) {
      const res = await deposit(other.auth, changed);
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect((await res.json()).code).toBe('duplicate_reference');
    }

    // The same reference on another wallet is another deposit.
    const elsewhere = await deposit(admin.auth, json, randomUUID());
    expect(elsewhere.status).toBe(201);
    expect((await elsewhere.json()).transaction_id).not.toBe(credited.transaction_id);
  });

  it("signs the deposit workflow's whole input with the workflow input key", async () => {
    const admin = await h.user({ roles: ['admin'] });
    const walletId = randomUUID();
    const json = body();
    const res = await h.request(`/v1/admin/wallets/${walletId}/deposits`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': randomUUID() },
      json,
    });
    expect(res.status).toBe(201);
    const history = await h.temporal.workflow
      .getHandle(depositWorkflowId(walletId, json.reference))
      .fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const input = defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload!);
    expect(input).toMatchObject({ wallet_id: walletId, amount: '100000', reference: json.reference });
    const key = workflowInputKey(h.config.WORKFLOW_INPUT_KEY);
    expect(verifyWorkflowInput(input, key)).toBe(true);
    expect(verifyWorkflowInput({ ...input, amount: '100001' }, key)).toBe(false);
  });

  it('refuses amounts above 2^53 − 1 with 422 amount_too_large before anything starts', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const walletId = randomUUID();
    const reference = `ref-${randomUUID()}`;
    for (const amount of ['9007199254740993', '12345678901234567890']) {
      const res = await h.request(`/v1/admin/wallets/${walletId}/deposits`, {
        method: 'POST',
        headers: { ...admin.auth, 'idempotency-key': randomUUID() },
        json: { amount, currency: 'USD', reference },
      });
      expect(res.status, amount).toBe(422);
      expect((await res.json()).code).toBe('amount_too_large');
    }
    await expect(
      h.temporal.workflow.getHandle(depositWorkflowId(walletId, reference)).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('accepts a service client with a deposit scope', async () => {
    const token = await h.issuer.serviceToken('wallet:admin', 'ops-tool');
    const res = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() },
      json: body(),
    });
    expect(res.status).toBe(201);
  });

  it('refuses ordinary users and services without the scope', async () => {
    const user = await h.user();
    const service = await h.issuer.serviceToken('wallet:read', 'reporting');
    for (const auth of [user.auth, { authorization: `Bearer ${service}` }]) {
      const res = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
        method: 'POST',
        headers: { ...auth, 'idempotency-key': randomUUID() },
        json: body(),
      });
      expect(res.status).toBe(403);
    }
  });

  it('requires an Idempotency-Key and a valid body', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const missing = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
      method: 'POST',
      headers: admin.auth,
      json: body(),
    });
    expect(missing.status).toBe(400);
    expect((await missing.json()).code).toBe('idempotency_key_required');
    for (const json of [
      { ...body(), amount: '-5' },
      { ...body(), balance: '1' },
      { ...body(), currency: 'usd' },
      { ...body(), reference: 'ref\u0000' },
      { ...body(), reference: 'ref\ud800' },
      { ...body(), reference: '' },
    ]) {
      const res = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
        method: 'POST',
        headers: { ...admin.auth, 'idempotency-key': randomUUID() },
        json,
      });
      expect(res.status).toBe(400);
    }
  });

  it("answers 409 duplicate_reference when WalletService's unique index refuses the reference", async () => {
    const admin = await h.user({ roles: ['admin'] });
    const res = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': randomUUID() },
      json: body('taken-at-wallet'),
    });
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('duplicate_reference');
  });

  it("reports the workflow's refusal with its domain code", async () => {
    const admin = await h.user({ roles: ['admin'] });
    const res = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': randomUUID() },
      json: body('missing-wallet'),
    });
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('wallet_not_found');
  });
});
