import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHarness, type Harness } from '../test-support/harness.js';
import { VALID_OTP } from '../test-support/fake-workflows.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ temporal: true });
});
afterAll(async () => h?.close());

async function funded() {
  const u = await h.user();
  const from = h.wallet.addWallet(u.id, 'USD');
  const payee = await h.user();
  const to = h.wallet.addWallet(payee.id, 'USD');
  return { u, from, to };
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

function post(auth: Record<string, string>, json: unknown, headers: Record<string, string> = {}) {
  return h.request('/v1/transfers', { method: 'POST', headers: { ...auth, ...headers }, json });
}

describe('POST /v1/transfers', () => {
  it('moves money and, with Prefer: wait, answers with the completed transfer', async () => {
    const { u, from, to } = await funded();
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
  });

  it('answers 202 with a Location when the transfer is still running', async () => {
    const { u, from, to } = await funded();
    const res = await post(
      u.auth,
      { from_wallet_id: from.id, to_wallet_id: to.id, amount: '100', currency: 'USD', description: 'slow' },
      {
        'idempotency-key': randomUUID(),
      },
    );
    expect(res.status).toBe(202);
    const t = await res.json();
    expect(res.headers.get('location')).toBe(`/v1/transfers/${t.id}`);
    expect(['pending', 'processing']).toContain(t.status);

    const cancelled = await h.request(`/v1/transfers/${t.id}/cancel`, { method: 'POST', headers: u.auth });
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ status: 'cancelled', failure_code: 'cancelled_by_user' });

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
      amount: '250',
      currency: 'USD',
      description: 'slow',
    };
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => post(u.auth, body, { 'idempotency-key': key })),
    );
    const ids = new Set<string>();
    for (const res of responses) {
      expect([200, 202]).toContain(res.status);
      ids.add((await res.json()).id);
    }
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    await expectOneRun(id!);
    await h.request(`/v1/transfers/${id}/cancel`, { method: 'POST', headers: u.auth });
  });

  it("refuses to move money from another user's wallet (BOLA), but pays into anyone's", async () => {
    const { u, to } = await funded();
    const victim = await h.user();
    const victims = h.wallet.addWallet(victim.id, 'USD');
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

  it('refuses bad amounts, wrong currencies and smuggled fields', async () => {
    const { u, from, to } = await funded();
    const base = { from_wallet_id: from.id, to_wallet_id: to.id, currency: 'USD' };
    for (const amount of ['0', '-1', '1.5', '1e3', '99999999999999999999', ' 100', '0100', 100, 1.5]) {
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
      json: { code: VALID_OTP },
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
      json: { code: VALID_OTP },
    });
    expect(right.status).toBe(200);
    expect(['processing', 'completed']).toContain((await right.json()).status);

    await vi.waitFor(
      async () => {
        const read = await (await h.request(`/v1/transfers/${t.id}`, { headers: u.auth })).json();
        expect(read.status).toBe('completed');
      },
      { timeout: 10_000, interval: 200 },
    );

    const cancelCompleted = await h.request(`/v1/transfers/${t.id}/cancel`, {
      method: 'POST',
      headers: u.auth,
    });
    expect(cancelCompleted.status).toBe(409);
    expect((await cancelCompleted.json()).code).toBe('cannot_cancel');

    const late = await h.request(`/v1/transfers/${t.id}/confirm`, {
      method: 'POST',
      headers: u.auth,
      json: { code: VALID_OTP },
    });
    expect(late.status).toBe(409);
  });

  it('refuses to cancel once funds were captured (409)', async () => {
    const { u, from, to } = await funded();
    const t = await (
      await post(
        u.auth,
        {
          from_wallet_id: from.id,
          to_wallet_id: to.id,
          amount: '10',
          currency: 'USD',
          description: 'linger',
        },
        {
          'idempotency-key': randomUUID(),
          prefer: 'wait=10',
        },
      )
    ).json();
    expect(t.status).toBe('completed');
    const res = await h.request(`/v1/transfers/${t.id}/cancel`, { method: 'POST', headers: u.auth });
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('cannot_cancel');
  });

  it("lists the caller's transfers with a status filter and a cursor", async () => {
    const { u, from, to } = await funded();
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const t = await (
        await post(
          u.auth,
          { from_wallet_id: from.id, to_wallet_id: to.id, amount: String(10 + i), currency: 'USD' },
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

    const bad = await h.request('/v1/transfers?status=stolen', { headers: u.auth });
    expect(bad.status).toBe(400);
  });
});
