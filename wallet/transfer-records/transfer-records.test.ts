import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

let h: WalletHarness;

beforeAll(async () => {
  // Its own database: the checkpoint is one row, and these tests move it.
  h = await createWalletHarness({ isolated: 'transfer_records' });
});
afterAll(() => h.close());

function record(overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    run_id: randomUUID(),
    initiated_by: 'user-a',
    status: 'completed',
    from_wallet_id: randomUUID(),
    to_wallet_id: randomUUID(),
    amount: '2500',
    currency: 'USD',
    description: 'lunch',
    steps: [
      { name: 'reserve', status: 'completed', attempts: 1 },
      { name: 'step_up', status: 'skipped', attempts: 0 },
      { name: 'capture', status: 'completed', attempts: 1 },
    ],
    created_at: '2026-11-30T10:00:00.000Z',
    completed_at: '2026-11-30T10:00:01.000Z',
    closed_at: '2026-11-30T10:00:01.000Z',
    ...overrides,
  };
}

async function checkpoint() {
  const res = await h.call('GET', '/internal/transfer-records/checkpoint');
  expect(res.status).toBe(200);
  return res.body as { closed_through: string; window_until: string | null; page_token: string | null };
}

describe('transfer records (the archive of closed transfers)', () => {
  it('stores a page with the checkpoint, replays it per key, and refuses a checkpoint another sweep moved', async () => {
    const start = await checkpoint();
    const a = record();
    const b = record({ status: 'failed', failure_code: 'insufficient_funds', completed_at: undefined });
    const next = {
      closed_through: start.closed_through,
      window_until: '2026-11-30T11:00:00.000Z',
      page_token: 'p2',
    };
    const body = { records: [a, b], checkpoint: { expected: start, next } };

    const first = await h.call('POST', '/internal/transfer-records', { body, key: 'page-1' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ upserted: 2, checkpoint: next });
    // A lost answer retried: the same outcome, nothing applied twice.
    const again = await h.call('POST', '/internal/transfer-records', { body, key: 'page-1' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');

    // The same page under another key (a second sweep that read the old checkpoint): refused.
    const stale = await h.call('POST', '/internal/transfer-records', { body, key: 'page-1-other-sweep' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'checkpoint_moved', checkpoint: next });

    const read = await h.call('GET', `/internal/transfer-records/${b.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ ...b, completed_at: undefined, steps: b.steps });
    expect(read.body).not.toHaveProperty('completed_at');

    // The window is done: the checkpoint moves to its end.
    const done = { closed_through: '2026-11-30T11:00:00.000Z', window_until: null, page_token: null };
    const last = await h.call('POST', '/internal/transfer-records', {
      body: { records: [], checkpoint: { expected: next, next: done } },
      key: 'page-2',
    });
    expect(last.status).toBe(200);
    expect(await checkpoint()).toEqual(done);

    // It never moves back.
    const back = await h.call('POST', '/internal/transfer-records', {
      body: { records: [], checkpoint: { expected: done, next: start } },
      key: 'page-3',
    });
    expect(back.status).toBe(400);
  });

  it('replaces a record only with the view of a run that closed later (a reset), never an older one', async () => {
    const first = record({
      status: 'failed',
      failure_code: 'internal_error',
      closed_at: '2026-11-30T10:00:05.000Z',
    });
    const write = async (r: ReturnType<typeof record>) => {
      const cp = await checkpoint();
      const res = await h.call('POST', '/internal/transfer-records', {
        body: { records: [r], checkpoint: { expected: cp, next: cp } },
        key: randomUUID(),
      });
      expect(res.status).toBe(200);
    };
    await write(first);
    // Both runs in one page (a reset closed again before the sweep came by): the later one wins.
    const cp = await checkpoint();
    const both = await h.call('POST', '/internal/transfer-records', {
      body: {
        records: [
          { ...first, run_id: randomUUID(), status: 'cancelled', closed_at: '2026-11-30T10:05:00.000Z' },
          { ...first, closed_at: '2026-11-30T10:00:05.000Z' },
        ],
        checkpoint: { expected: cp, next: cp },
      },
      key: randomUUID(),
    });
    expect(both.status).toBe(200);
    expect((await h.call('GET', `/internal/transfer-records/${first.id}`)).body.status).toBe('cancelled');
    const reset = {
      ...first,
      run_id: randomUUID(),
      status: 'completed',
      failure_code: undefined,
      closed_at: '2026-11-30T10:09:00.000Z',
    };
    await write(reset);
    await write({ ...first, closed_at: '2026-11-30T10:00:05.000Z' });
    const read = await h.call('GET', `/internal/transfer-records/${first.id}`);
    expect(read.body).toMatchObject({ status: 'completed', run_id: reset.run_id });
    expect(read.body).not.toHaveProperty('failure_code');
  });

  it("lists a user's records newest first with a stable position, filtered by status", async () => {
    const user = `user-${randomUUID()}`;
    const made = [0, 1, 2, 3, 4].map((i) =>
      record({
        initiated_by: user,
        created_at: `2026-11-30T12:00:0${i}.000Z`,
        ...(i % 2 === 0 ? {} : { status: 'cancelled', failure_code: 'cancelled_by_user' }),
      }),
    );
    const cp = await checkpoint();
    const res = await h.call('POST', '/internal/transfer-records', {
      body: { records: made, checkpoint: { expected: cp, next: cp } },
      key: randomUUID(),
    });
    expect(res.status).toBe(200);

    const page1 = await h.call('GET', `/internal/transfer-records?initiated_by=${user}&limit=2`);
    expect(page1.status).toBe(200);
    expect(page1.body.archived_through).toBe(cp.closed_through);
    const ids = (res: { body: unknown }) => (res.body as { items: { id: string }[] }).items.map((r) => r.id);
    expect(ids(page1)).toEqual([made[4]!.id, made[3]!.id]);
    const after = page1.body.items[1];
    const page2 = await h.call(
      'GET',
      `/internal/transfer-records?initiated_by=${user}&limit=10&before_created_at=${after.created_at}&before_id=${after.id}`,
    );
    expect(ids(page2)).toEqual([made[2]!.id, made[1]!.id, made[0]!.id]);

    const cancelled = await h.call('GET', `/internal/transfer-records?initiated_by=${user}&status=cancelled`);
    expect(ids(cancelled)).toEqual([made[3]!.id, made[1]!.id]);
    // Another user's list does not show them.
    const other = await h.call('GET', `/internal/transfer-records?initiated_by=user-${randomUUID()}`);
    expect(other.body.items).toEqual([]);
  });

  it('refuses malformed pages whole, unknown ids, and user tokens', async () => {
    const cp = await checkpoint();
    const bad = await h.call('POST', '/internal/transfer-records', {
      body: { records: [record(), record({ amount: '-5' })], checkpoint: { expected: cp, next: cp } },
      key: randomUUID(),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
    const missing = await h.call('GET', `/internal/transfer-records/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('transfer_record_not_found');
    const noKey = await h.call('POST', '/internal/transfer-records', {
      body: { records: [], checkpoint: { expected: cp, next: cp } },
    });
    expect(noKey.status).toBe(400);
    const userToken = await h.issuer.mint({ sub: randomUUID(), scope: 'wallet:read wallet:write' });
    const asUser = await h.call('GET', '/internal/transfer-records/checkpoint', { token: userToken });
    expect(asUser.status).toBe(403);
    const readOnly = await h.issuer.serviceToken('wallet:read');
    const write = await h.call('POST', '/internal/transfer-records', {
      body: { records: [], checkpoint: { expected: cp, next: cp } },
      key: randomUUID(),
      token: readOnly,
    });
    expect(write.status).toBe(403);
  });
});
