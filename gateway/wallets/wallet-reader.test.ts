import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../../wallet/testing/wallet-harness.js';
import { createUpstream } from '../http/upstream.js';
import { serveStub } from '../testing/stub-server.js';
import { createWalletReader, type WalletReader } from './wallet-reader.js';

// The real WalletService app (test stack PostgreSQL) on a local port, behind the gateway's own
// upstream client; `calls` counts what reached it.
let h: WalletHarness;
let server: { url: string; close: () => Promise<void> };
let read: WalletReader;
const calls: string[] = [];
let failNext = 0;
const headers = { 'x-request-id': 'req-1', traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` };

beforeAll(async () => {
  h = await createWalletHarness();
  const front = new Hono();
  front.use('*', async (c, next) => {
    calls.push(c.req.url);
    if (failNext > 0) {
      failNext--;
      return c.json(
        { type: 'about:blank', title: 'x', status: 500, detail: 'x', code: 'internal_error' },
        500,
      );
    }
    await next();
  });
  front.route('/', h.app);
  server = await serveStub(front);
  const token = await h.issuer.serviceToken('wallet:read', 'velora-gateway');
  const wallet = createUpstream({
    name: 'wallet',
    baseUrl: server.url,
    timeoutMs: 3000,
    breakAfter: 100,
    halfOpenAfterMs: 10,
    token: async () => token,
  });
  read = createWalletReader(wallet, { maxBatch: 4 });
});
afterAll(async () => {
  await server?.close();
  await h?.close();
});

describe('batched wallet reads against WalletService', () => {
  it('sends the reads of one turn as one call and gives each caller its own wallet or nothing', async () => {
    const ids = [await h.wallet('USD', 700n), await h.wallet('EUR'), await h.wallet('JPY')];
    const unknown = randomUUID();
    calls.length = 0;
    const asked = [ids[0]!, unknown, ids[1]!, ids[0]!.toUpperCase(), ids[2]!, 'not-a-uuid', ids[1]!];
    const answers = await Promise.all(asked.map((id) => read(id, headers)));
    expect(calls).toHaveLength(1);
    expect(answers.map((w) => w?.id)).toEqual([ids[0], undefined, ids[1], ids[0], ids[2], undefined, ids[1]]);
    // Each answer is the single read's answer: owner, currency and balance of that wallet.
    for (const id of ids) {
      const single = (await h.call('GET', `/internal/wallets/${id}`)).body;
      expect(answers.find((w) => w?.id === id)).toEqual(single);
    }
    expect(answers[0]).toMatchObject({ currency: 'USD', balance: { posted: '700' } });
  });

  it('never asks for an id that is not a UUID, and splits batches larger than maxBatch', async () => {
    calls.length = 0;
    expect(await read('..%2Finternal%2Freconciliation', headers)).toBeUndefined();
    expect(calls).toHaveLength(0);
    const ids = await Promise.all(Array.from({ length: 6 }, () => h.wallet()));
    calls.length = 0;
    const answers = await Promise.all(ids.map((id) => read(id, headers)));
    expect(answers.map((w) => w?.id)).toEqual(ids);
    expect(calls).toHaveLength(2);
  });

  it('collects the reads that arrive while a batch is in flight into the next one', async () => {
    const ids = await Promise.all(Array.from({ length: 4 }, () => h.wallet()));
    calls.length = 0;
    const first = read(ids[0]!, headers);
    // Sent at the end of this turn; the next reads arrive while it is in flight.
    await new Promise((resolve) => setImmediate(resolve));
    const rest = ids.slice(1).map((id) => read(id, headers));
    const answers = await Promise.all([first, ...rest]);
    expect(answers.map((w) => w?.id)).toEqual(ids);
    expect(calls).toHaveLength(2);
  });

  it('fails every read of a batch WalletService could not answer, and the next batch reads again', async () => {
    const ids = [await h.wallet(), await h.wallet()];
    calls.length = 0;
    failNext = 1;
    // A 5xx is retried once (a read): the retry answers both.
    const retried = await Promise.all(ids.map((id) => read(id, headers)));
    expect(retried.map((w) => w?.id)).toEqual(ids);
    expect(calls).toHaveLength(2);
    failNext = 10; // more than the retries
    const failed = await Promise.allSettled(ids.map((id) => read(id, headers)));
    failNext = 0;
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of failed)
      expect((r as PromiseRejectedResult).reason).toMatchObject({
        problem: { status: 502, code: 'upstream_error' },
      });
    const again = await Promise.all(ids.map((id) => read(id, headers)));
    expect(again.map((w) => w?.id)).toEqual(ids);
  });
});
