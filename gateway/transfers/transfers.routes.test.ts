import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter, WorkflowNotFoundError } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyWorkflowInput, workflowInputKey } from '../../lib/workflow-input-signature.js';
import { retryCompensation, transferWorkflowId } from '../../workflows/transfer-contract.js';
import { deriveId } from '../temporal/idempotency.js';
import { createHarness, DEFAULT_TEST_BALANCE, type Harness } from '../testing/harness.js';
import { STEP_ERROR_MESSAGES } from './public-transfer.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ temporal: true });
});
afterAll(async () => h?.close());

async function funded() {
  const u = await h.user();
  const from = h.addWallet(u.id);
  const payee = await h.user();
  const to = h.addWallet(payee.id);
  return { u, from, to, payee };
}

/** At or above the step-up threshold: the transfer waits for its code (cancel it to end it). */
const STEP_UP_AMOUNT = '150000';

/** The workflow id of the transfer `userId` starts with Idempotency-Key `key`. */
function workflowIdOf(userId: string, key: string): string {
  return transferWorkflowId(deriveId('transfer', userId, key));
}

/**
 * The step-up transfer `userId` starts with `key` stays `pending` while its code is being sent:
 * the send waits at a gate (named after the key) until the test opens it.
 */
function holdOtpSend(userId: string, key: string): string {
  h.services.inject(workflowIdOf(userId, key), 'sendStepUpOtp', { kind: 'block', gate: key });
  return key;
}

/** Visibility is eventually consistent: wait until it lists the workflow, then count its runs. */
async function expectOneRun(transferId: string) {
  await vi.waitFor(
    async () => {
      let runs = 0;
      for await (const _ of h.temporal.workflow.list({ query: `WorkflowId = 'transfer-${transferId}'` }))
        runs++;
      expect(runs).toBe(1);
    },
    { timeout: 10_000, interval: 200 },
  );
}

/** The transfer workflow's start event input and its update events, read from its history. */
async function workflowHistory(transferId: string) {
  const history = await h.temporal.workflow.getHandle(`transfer-${transferId}`).fetchHistory();
  const events = history.events ?? [];
  const payload = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return {
    input: defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload!),
    updates: events
      .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name)
      .filter((name): name is string => typeof name === 'string'),
  };
}

/** Reads the transfer until it shows `status` (the workflow moves on in its own time). */
async function untilStatus(auth: Record<string, string>, transferId: string, status: string) {
  await vi.waitFor(
    async () => {
      const read = await (await h.request(`/v1/transfers/${transferId}`, { headers: auth })).json();
      expect(read.status).toBe(status);
    },
    { timeout: 10_000, interval: 200 },
  );
}

function post(auth: Record<string, string>, json: unknown, headers: Record<string, string> = {}) {
  return h.request('/v1/transfers', { method: 'POST', headers: { ...auth, ...headers }, json });
}

describe('POST /v1/transfers', () => {
  it('moves money and, with Prefer: wait, answers with the completed transfer', async () => {
    const { u, from, to, payee } = await funded();
    const res = await post(
      u.auth,
      { from_wallet_id: from.id, to_wallet_id: to.id, amount: '1050', currency: 'USD' },
      {
        'idempotency-key': randomUUID(),
        prefer: 'wait=10',
      },
    );
    expect(res.status).toBe(200);
    const t = await res.json();
    expect(t).toMatchObject({
      status: 'completed',
      from_wallet_id: from.id,
      to_wallet_id: to.id,
      amount: '1050',
      currency: 'USD',
    });
    expect(t.completed_at).toBeTypeOf('string');
    expect(res.headers.get('location')).toBe(`/v1/transfers/${t.id}`);

    const read = await h.request(`/v1/transfers/${t.id}`, { headers: u.auth });
    expect(read.status).toBe(200);
    expect((await read.json()).status).toBe('completed');

    // Each side sees the money moved once.
    const balance = async (walletId: string, auth: Record<string, string>): Promise<unknown> =>
      (await (await h.request(`/v1/wallets/${walletId}`, { headers: auth })).json()).balance;
    expect(await balance(from.id, u.auth)).toEqual({ posted: '998950', pending: '0', available: '998950' });
    expect(await balance(to.id, payee.auth)).toEqual({
      posted: '1001050',
      pending: '0',
      available: '1001050',
    });
  });

  it('answers 202 with a Location when the transfer is still running', async () => {
    const { u, from, to } = await funded();
    // Without Prefer: wait the answer comes right after the start; this one then waits for its code.
    const res = await post(
      u.auth,
      { from_wallet_id: from.id, to_wallet_id: to.id, amount: STEP_UP_AMOUNT, currency: 'USD' },
      {
        'idempotency-key': randomUUID(),
      },
    );
    expect(res.status).toBe(202);
    const t = await res.json();
    expect(res.headers.get('location')).toBe(`/v1/transfers/${t.id}`);
    expect(t.status).toBe('pending');

    // Cancelled once it waits for the code, so the cancel cannot meet the OTP send's completion
    // (a workflow task that fails with UnhandledCommand aborts an Update: the gateway answers 503).
    await untilStatus(u.auth, t.id, 'awaiting_confirmation');
    const cancelled = await h.request(`/v1/transfers/${t.id}/cancel`, { method: 'POST', headers: u.auth });
    expect(cancelled.status).toBe(200);
    // The answer comes once the outcome is decided; the hold may still be being released.
    const decided = await cancelled.json();
    expect(decided.failure_code).toBe('cancelled_by_user');
    expect(['compensating', 'cancelled']).toContain(decided.status);

    // Cancelling again is idempotent once the workflow has closed.
    await vi.waitFor(
      async () => {
        const again = await h.request(`/v1/transfers/${t.id}/cancel`, { method: 'POST', headers: u.auth });
        expect(again.status).toBe(200);
        expect((await again.json()).status).toBe('cancelled');
      },
      { timeout: 10_000, interval: 200 },
    );
  });

  it('requires an Idempotency-Key', async () => {
    const { u, from, to } = await funded();
    const res = await post(u.auth, {
      from_wallet_id: from.id,
      to_wallet_id: to.id,
      amount: '100',
      currency: 'USD',
    });
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('idempotency_key_required');
  });

  it('replays the same transfer for the same key and body, and refuses the key with another body', async () => {
    const { u, from, to } = await funded();
    const key = randomUUID();
    const body = { from_wallet_id: from.id, to_wallet_id: to.id, amount: '700', currency: 'USD' };
    const first = await (await post(u.auth, body, { 'idempotency-key': key, prefer: 'wait=10' })).json();
    expect(first.status).toBe('completed');
    // The replay comes after the workflow closed: it must find it, not run the transfer again.
    const again = await post(u.auth, body, { 'idempotency-key': key });
    expect(again.status).toBe(200);
    expect((await again.json()).id).toBe(first.id);
    await expectOneRun(first.id);

    const changed = await post(u.auth, { ...body, amount: '701' }, { 'idempotency-key': key });
    expect(changed.status).toBe(422);
    expect((await changed.json()).code).toBe('idempotency_key_mismatch');
  });

  it('scopes keys to the principal: the same key from two users makes two transfers', async () => {
    const a = await funded();
    const b = await funded();
    const key = randomUUID();
    const ta = await (
      await post(
        a.u.auth,
        { from_wallet_id: a.from.id, to_wallet_id: a.to.id, amount: '5', currency: 'USD' },
        { 'idempotency-key': key },
      )
    ).json();
    const tb = await (
      await post(
        b.u.auth,
        { from_wallet_id: b.from.id, to_wallet_id: b.to.id, amount: '5', currency: 'USD' },
        { 'idempotency-key': key },
      )
    ).json();
    expect(ta.id).not.toBe(tb.id);
  });

  it('turns 20 concurrent identical requests into one transfer', async () => {
    const { u, from, to } = await funded();
    const key = randomUUID();
    const body = {
      from_wallet_id: from.id,
      to_wallet_id: to.id,
      amount: STEP_UP_AMOUNT,
      currency: 'USD',
    };
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => post(u.auth, body, { 'idempotency-key': key })),
    );
    const ids = new Set<string>();
    for (const res of responses) {
      const answer = await res.json();
      // On a loaded machine a duplicate may find Temporal slower than the gateway's RPC deadline:
      // it is told to retry (503), never given a second transfer.
      if (res.status === 503) {
        expect(answer.code).toBe('orchestrator_unavailable');
        continue;
      }
      expect([200, 202]).toContain(res.status);
      ids.add(answer.id);
    }
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    await expectOneRun(id!);
    await h.request(`/v1/transfers/${id}/cancel`, { method: 'POST', headers: u.auth });
  });

  it("refuses to move money from another user's wallet (BOLA), but pays into anyone's", async () => {
    const { u, to } = await funded();
    const victim = await h.user();
    const victims = h.addWallet(victim.id);
    const res = await post(
      u.auth,
      { from_wallet_id: victims.id, to_wallet_id: to.id, amount: '100', currency: 'USD' },
      {
        'idempotency-key': randomUUID(),
      },
    );
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('wallet_not_found');
  });

  it('reads a source wallet from WalletService once: owner and currency never change', async () => {
    const { u, from, to } = await funded();
    const reads = () => h.wallet.seen.filter((s) => s.path === `/internal/wallets/${from.id}`).length;
    const body = { from_wallet_id: from.id, to_wallet_id: to.id, amount: '100', currency: 'USD' };
    for (const _ of [1, 2]) {
      const res = await post(u.auth, body, { 'idempotency-key': randomUUID() });
      expect(res.status).toBe(202);
    }
    expect(reads()).toBe(1);
    // The remembered owner still refuses everyone else, and the currency still has to match.
    const thief = await h.user();
    const stolen = await post(thief.auth, body, { 'idempotency-key': randomUUID() });
    expect(stolen.status).toBe(404);
    expect((await stolen.json()).code).toBe('wallet_not_found');
    const eur = await post(u.auth, { ...body, currency: 'EUR' }, { 'idempotency-key': randomUUID() });
    expect(eur.status).toBe(422);
    expect((await eur.json()).code).toBe('currency_mismatch');
    expect(reads()).toBe(1);
  });

  it('refuses bad amounts, wrong currencies and smuggled fields', async () => {
    const { u, from, to } = await funded();
    const base = { from_wallet_id: from.id, to_wallet_id: to.id, currency: 'USD' };
    for (const amount of ['0', '-1', '1.5', '1e3', ' 100', '0100', '', 100, 1.5]) {
      const res = await post(u.auth, { ...base, amount }, { 'idempotency-key': randomUUID() });
      expect(res.status, `amount ${JSON.stringify(amount)}`).toBe(400);
      expect((await res.json()).code).toBe('validation_failed');
    }
    const eur = await post(
      u.auth,
      { ...base, amount: '100', currency: 'EUR' },
      { 'idempotency-key': randomUUID() },
    );
    expect(eur.status).toBe(422);
    expect((await eur.json()).code).toBe('currency_mismatch');
    for (const extra of [
      { user_id: randomUUID() },
      { status: 'completed' },
      { initiated_by: { user_id: randomUUID() } },
    ]) {
      const res = await post(
        u.auth,
        { ...base, amount: '100', ...extra },
        { 'idempotency-key': randomUUID() },
      );
      expect(res.status).toBe(400);
    }
    const self = await post(
      u.auth,
      { ...base, to_wallet_id: from.id, amount: '100' },
      { 'idempotency-key': randomUUID() },
    );
    expect(self.status).toBe(422);
  });
});

describe('Prefer: wait without polling (Update-with-Start)', () => {
  it('starts and waits in one Update-with-Start of waitForTransfer, and signs the whole input', async () => {
    const { u, from, to } = await funded();
    const res = await post(
      u.auth,
      { from_wallet_id: from.id, to_wallet_id: to.id, amount: '42', currency: 'USD', description: 'rent' },
      { 'idempotency-key': randomUUID(), prefer: 'wait=10' },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('wait=10');
    const t = await res.json();
    expect(t.status).toBe('completed');
    const { input, updates } = await workflowHistory(t.id);
    expect(updates).toEqual(['waitForTransfer']);
    expect(input).toMatchObject({ amount: '42', description: 'rent', initiated_by: { user_id: u.id } });
    const key = workflowInputKey(h.config.WORKFLOW_INPUT_KEY);
    expect(verifyWorkflowInput(input, key)).toBe(true);
    expect(
      verifyWorkflowInput(
        { ...input, initiated_by: { ...(input.initiated_by as object), user_id: 'x' } },
        key,
      ),
    ).toBe(false);
  });

  it('answers 202 with the current view at the wait deadline, then replays it for the same key', async () => {
    const { u, from, to } = await funded();
    const key = randomUUID();
    const gate = holdOtpSend(u.id, key);
    const body = {
      from_wallet_id: from.id,
      to_wallet_id: to.id,
      amount: STEP_UP_AMOUNT,
      currency: 'USD',
      description: 'held at the code',
    };
    const res = await post(u.auth, body, { 'idempotency-key': key, prefer: 'wait=1' });
    expect(res.status).toBe(202);
    const t = await res.json();
    expect(t).toMatchObject({ amount: STEP_UP_AMOUNT, description: 'held at the code', status: 'pending' });
    expect(res.headers.get('location')).toBe(`/v1/transfers/${t.id}`);

    // Same key, same body, while it runs: the same transfer, not a second one.
    const again = await post(u.auth, body, { 'idempotency-key': key, prefer: 'wait=1' });
    expect(again.status, await again.clone().text()).toBe(202);
    expect((await again.json()).id).toBe(t.id);
    // Same key, another body, while it runs: refused.
    const changed = await post(
      u.auth,
      { ...body, amount: '150001' },
      { 'idempotency-key': key, prefer: 'wait=1' },
    );
    expect(changed.status).toBe(422);
    expect((await changed.json()).code).toBe('idempotency_key_mismatch');
    const changedNoWait = await post(u.auth, { ...body, description: 'other' }, { 'idempotency-key': key });
    expect(changedNoWait.status).toBe(422);

    await h.request(`/v1/transfers/${t.id}/cancel`, { method: 'POST', headers: u.auth });
    h.services.open(gate);
    await expectOneRun(t.id);
    // Replayed after it closed: its result, without running it again.
    await vi.waitFor(
      async () => {
        const closed = await post(u.auth, body, { 'idempotency-key': key, prefer: 'wait=5' });
        expect(closed.status).toBe(200);
        expect(await closed.json()).toMatchObject({
          id: t.id,
          status: 'cancelled',
          failure_code: 'cancelled_by_user',
        });
      },
      { timeout: 10_000, interval: 200 },
    );
    const closedChanged = await post(
      u.auth,
      { ...body, amount: '150002' },
      { 'idempotency-key': key, prefer: 'wait=5' },
    );
    expect(closedChanged.status).toBe(422);
    expect((await closedChanged.json()).code).toBe('idempotency_key_mismatch');
    await expectOneRun(t.id);
  });

  it('answers a step-up transfer at awaiting_confirmation', async () => {
    const { u, from, to } = await funded();
    const res = await post(
      u.auth,
      { from_wallet_id: from.id, to_wallet_id: to.id, amount: '100000', currency: 'USD' },
      { 'idempotency-key': randomUUID(), prefer: 'wait=10' },
    );
    expect(res.status).toBe(202);
    const t = await res.json();
    expect(t.status).toBe('awaiting_confirmation');
    await h.request(`/v1/transfers/${t.id}/cancel`, { method: 'POST', headers: u.auth });
  });
});

describe('steps show codes and fixed messages only (no detail about the other wallet)', () => {
  // What WalletService answers when the destination cannot take the money: the code, and words
  // for operators that name the other wallet's state.
  for (const [scenario, code, words] of [
    [
      'destination-frozen',
      'wallet_frozen',
      (id: string) => `POST /internal/holds: wallet ${id} is frozen (status=frozen since 2026-11-30)`,
    ],
    [
      'destination-currency',
      'currency_mismatch',
      (id: string) => `POST /internal/holds: wallet ${id} holds EUR, not USD`,
    ],
  ] as const) {
    it(`a transfer refused because of the destination (${scenario}) says nothing about that wallet`, async () => {
      const { u, from, to } = await funded();
      const key = randomUUID();
      h.services.inject(workflowIdOf(u.id, key), 'reserveTransfer', {
        kind: 'domain',
        code,
        message: words(to.id),
      });
      const res = await post(
        u.auth,
        {
          from_wallet_id: from.id,
          to_wallet_id: to.id,
          amount: '500',
          currency: 'USD',
          description: scenario,
        },
        { 'idempotency-key': key, prefer: 'wait=10' },
      );
      expect(res.status).toBe(200);
      const t = await res.json();
      // The workflow itself recorded the raw reason for operators …
      const raw = await h.temporal.workflow.getHandle(`transfer-${t.id}`).result();
      expect(JSON.stringify(raw)).toMatch(/internal\/holds/);

      // … and no public answer carries it.
      const read = await (await h.request(`/v1/transfers/${t.id}`, { headers: u.auth })).json();
      let listed: unknown;
      await vi.waitFor(
        async () => {
          const page = await (await h.request('/v1/transfers?status=failed', { headers: u.auth })).json();
          listed = (page.items as { id: string }[]).find((item) => item.id === t.id);
          expect(listed).toBeDefined();
        },
        { timeout: 10_000, interval: 200 },
      );
      for (const view of [t, read]) {
        expect(view).toMatchObject({ status: 'failed', failure_code: code });
        expect(view.steps).toEqual([
          {
            name: 'reserve',
            status: 'failed',
            attempts: 1,
            error_code: code,
            error: STEP_ERROR_MESSAGES[code],
          },
          { name: 'step_up', status: 'pending', attempts: 0 },
          { name: 'capture', status: 'pending', attempts: 0 },
        ]);
      }
      expect(listed).toMatchObject({ status: 'failed', failure_code: code, steps: [] });
      for (const view of [t, read, listed]) {
        const text = JSON.stringify(view);
        expect(text).not.toMatch(/internal|holds|EUR|status=|since/);
        expect(text.split(to.id).length - 1).toBe(1); // only as to_wallet_id, never inside a message
      }
    });
  }
});

describe('amounts above 2^53 − 1 (the TransferAmount search attribute is a JS number)', () => {
  it('are refused with 422 amount_too_large before any workflow starts; 2^53 − 1 itself is accepted', async () => {
    const { u, from, to } = await funded();
    const base = { from_wallet_id: from.id, to_wallet_id: to.id, currency: 'USD' };
    for (const amount of ['9007199254740993', '9007199254740992', '12345678901234567890', '9'.repeat(400)]) {
      const key = randomUUID();
      const res = await post(u.auth, { ...base, amount }, { 'idempotency-key': key });
      expect(res.status, amount).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = await res.json();
      expect(problem.code).toBe('amount_too_large');
      expect(problem.detail).toContain('9007199254740991');
      const id = deriveId('transfer', u.id, key);
      await expect(h.temporal.workflow.getHandle(`transfer-${id}`).describe()).rejects.toBeInstanceOf(
        WorkflowNotFoundError,
      );
    }
    // A malformed amount stays a validation failure, even next to a huge one.
    const both = await post(
      u.auth,
      { ...base, amount: '12345678901234567890', currency: 'usd' },
      { 'idempotency-key': randomUUID() },
    );
    expect(both.status).toBe(400);

    const max = await post(
      u.auth,
      { ...base, amount: '9007199254740991' },
      { 'idempotency-key': randomUUID() },
    );
    expect(max.status).toBe(202);
    const t = await max.json();
    expect(t.amount).toBe('9007199254740991');
    await h.request(`/v1/transfers/${t.id}/cancel`, { method: 'POST', headers: u.auth });
  });
});

describe('reading, confirming and cancelling transfers', () => {
  it("hides another user's transfer behind the same 404 as an unknown id", async () => {
    const { u, from, to } = await funded();
    const t = await (
      await post(
        u.auth,
        { from_wallet_id: from.id, to_wallet_id: to.id, amount: '10', currency: 'USD' },
        { 'idempotency-key': randomUUID() },
      )
    ).json();
    const mallory = await h.user();
    for (const path of [`/v1/transfers/${t.id}`, `/v1/transfers/${randomUUID()}`]) {
      const res = await h.request(path, { headers: mallory.auth });
      expect(res.status).toBe(404);
      expect((await res.json()).code).toBe('transfer_not_found');
    }
    const cancel = await h.request(`/v1/transfers/${t.id}/cancel`, { method: 'POST', headers: mallory.auth });
    expect(cancel.status).toBe(404);
    const confirm = await h.request(`/v1/transfers/${t.id}/confirm`, {
      method: 'POST',
      headers: mallory.auth,
      json: { code: h.otpCode },
    });
    expect(confirm.status).toBe(404);
  });

  it('steps up a large transfer: awaiting_confirmation, a wrong code is refused, the right one completes it', async () => {
    const { u, from, to } = await funded();
    const res = await post(
      u.auth,
      { from_wallet_id: from.id, to_wallet_id: to.id, amount: '150000', currency: 'USD' },
      {
        'idempotency-key': randomUUID(),
        prefer: 'wait=10',
      },
    );
    expect(res.status).toBe(202);
    const t = await res.json();
    expect(t.status).toBe('awaiting_confirmation');

    const wrong = await h.request(`/v1/transfers/${t.id}/confirm`, {
      method: 'POST',
      headers: u.auth,
      json: { code: '000000' },
    });
    expect(wrong.status).toBe(422);
    expect(await wrong.json()).toMatchObject({ code: 'otp_invalid', attempts_left: 2 });

    const right = await h.request(`/v1/transfers/${t.id}/confirm`, {
      method: 'POST',
      headers: u.auth,
      json: { code: h.otpCode },
    });
    expect(right.status).toBe(200);
    const confirmed = (await right.json()).status;
    expect(['processing', 'completed']).toContain(confirmed);

    await untilStatus(u.auth, t.id, 'completed');

    const cancelCompleted = await h.request(`/v1/transfers/${t.id}/cancel`, {
      method: 'POST',
      headers: u.auth,
    });
    expect(cancelCompleted.status).toBe(409);
    expect((await cancelCompleted.json()).code).toBe('cannot_cancel');

    // The right code sent again (the client lost the answer) reattaches to its Update: the same
    // success, also after the transfer finished. Another code is refused.
    const resent = await h.request(`/v1/transfers/${t.id}/confirm`, {
      method: 'POST',
      headers: u.auth,
      json: { code: h.otpCode },
    });
    expect(resent.status).toBe(200);
    expect((await resent.json()).status).toBe(confirmed);
    const late = await h.request(`/v1/transfers/${t.id}/confirm`, {
      method: 'POST',
      headers: u.auth,
      json: { code: '000001' },
    });
    expect(late.status).toBe(409);
    expect((await late.json()).code).toBe('not_awaiting_confirmation');
  });

  it('runs a retried confirm once: the same code reattaches to the same Update', async () => {
    const { u, from, to } = await funded();
    const t = await (
      await post(
        u.auth,
        { from_wallet_id: from.id, to_wallet_id: to.id, amount: '150000', currency: 'USD' },
        { 'idempotency-key': randomUUID(), prefer: 'wait=10' },
      )
    ).json();
    expect(t.status).toBe('awaiting_confirmation');
    for (let i = 0; i < 2; i++) {
      const wrong = await h.request(`/v1/transfers/${t.id}/confirm`, {
        method: 'POST',
        headers: u.auth,
        json: { code: '000000' },
      });
      expect(wrong.status).toBe(422);
      expect((await wrong.json()).code).toBe('otp_invalid');
    }
    const { updates } = await workflowHistory(t.id);
    expect(updates.filter((name) => name === 'confirmOtp')).toHaveLength(1);
  });

  it('refuses to cancel once funds were captured (409), while the transfer still runs', async () => {
    const { u, from, to } = await funded();
    const key = randomUUID();
    const workflowId = workflowIdOf(u.id, key);
    // The reserve only holds (a wallet from before the one-call reserve); the capture then moves
    // the money but its answer is lost, so the transfer waits in needs_attention: captured, and
    // the workflow still running.
    h.services.walletWithoutOneCall(workflowId);
    h.services.inject(workflowId, 'captureTransfer', { kind: 'outage_after_effect', times: 1 });
    const started = await post(
      u.auth,
      { from_wallet_id: from.id, to_wallet_id: to.id, amount: '10', currency: 'USD' },
      { 'idempotency-key': key },
    );
    expect(started.status).toBe(202);
    const t = await started.json();
    await untilStatus(u.auth, t.id, 'needs_attention');
    expect(h.services.balance(to.id).posted).toBe(DEFAULT_TEST_BALANCE + 10n);

    const res = await h.request(`/v1/transfers/${t.id}/cancel`, { method: 'POST', headers: u.auth });
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('cannot_cancel');

    // An operator's retry finds the capture: the transfer completes, the money moved once.
    await h.temporal.workflow.getHandle(workflowId).signal(retryCompensation);
    await untilStatus(u.auth, t.id, 'completed');
    expect(h.services.balance(to.id).posted).toBe(DEFAULT_TEST_BALANCE + 10n);
  });

  it("lists the caller's transfers with a status filter and a cursor", async () => {
    const { u, from, to } = await funded();
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const t = await (
        await post(
          u.auth,
          {
            from_wallet_id: from.id,
            to_wallet_id: to.id,
            amount: String(10 + i),
            currency: 'USD',
            description: 'listed',
          },
          {
            'idempotency-key': randomUUID(),
            prefer: 'wait=10',
          },
        )
      ).json();
      made.push(t.id);
    }
    const other = await funded();
    await post(
      other.u.auth,
      { from_wallet_id: other.from.id, to_wallet_id: other.to.id, amount: '1', currency: 'USD' },
      { 'idempotency-key': randomUUID() },
    );

    await vi.waitFor(
      async () => {
        const page = await (
          await h.request('/v1/transfers?status=completed&limit=10', { headers: u.auth })
        ).json();
        expect((page.items as { id: string }[]).map((t) => t.id).sort()).toEqual([...made].sort());
      },
      { timeout: 15_000, interval: 300 },
    );

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const qs: string = cursor ? `&cursor=${cursor}` : '';
      const res = await h.request(`/v1/transfers?limit=2${qs}`, { headers: u.auth });
      expect(res.status).toBe(200);
      const page = await res.json();
      seen.push(...(page.items as { id: string }[]).map((t) => t.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...made].sort());

    // Rows come from visibility and memo in one list call: the description, amounts and times
    // are there, the steps are not (they are on GET /v1/transfers/:id).
    const page = await (await h.request('/v1/transfers?limit=10', { headers: u.auth })).json();
    for (const item of page.items as Record<string, unknown>[]) {
      expect(item).toMatchObject({
        status: 'completed',
        from_wallet_id: from.id,
        to_wallet_id: to.id,
        currency: 'USD',
        description: 'listed',
        steps: [],
      });
      expect(['10', '11', '12']).toContain(item.amount);
      expect(item.created_at).toBeTypeOf('string');
      expect(item.completed_at).toBeTypeOf('string');
    }

    const bad = await h.request('/v1/transfers?status=stolen', { headers: u.auth });
    expect(bad.status).toBe(400);
  });
});
