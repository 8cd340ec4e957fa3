import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../lib/logger.js';
import { verifyPayoutWebhook } from '../lib/payout-webhook-signature.js';
import { createPayoutSimApp } from './app.js';
import { loadPayoutSimConfig } from './config.js';
import type { PayoutEvent } from './webhook-delivery.js';

const SECRET = 'test-payout-webhook-secret-0123456789abcdef';
const API_KEY = 'test-payout-api-key-0123';

/** A real webhook receiver: answers each delivery with the next status of `answers` (then 204). */
let server: Server;
let url: string;
let received: { event: PayoutEvent; valid: boolean; at: number }[] = [];
let answers: number[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const check = verifyPayoutWebhook(
        req.headers['x-payout-signature'] as string,
        body,
        SECRET,
        Date.now() / 1000,
      );
      received.push({ event: JSON.parse(body) as PayoutEvent, valid: check.ok, at: Date.now() });
      res.statusCode = answers.shift() ?? 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/webhooks/payouts`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let sims: { close(): void }[] = [];
afterEach(() => {
  for (const s of sims) s.close();
  sims = [];
  received = [];
  answers = [];
});

function sim(env: Record<string, string> = {}, random = () => 0.5) {
  const config = loadPayoutSimConfig({
    PAYOUT_WEBHOOK_SECRET: SECRET,
    PAYOUT_PROVIDER_API_KEY: API_KEY,
    PAYOUT_SIM_WEBHOOK_URL: url,
    PAYOUT_SIM_SETTLE_DELAY_MS: '10',
    PAYOUT_SIM_WEBHOOK_FIRST_RETRY_MS: '20',
    ...env,
  });
  const s = createPayoutSimApp({ config, log: createLogger('payout-sim-test', 'silent'), random });
  sims.push(s);
  const call = async (method: string, path: string, body?: unknown, key = API_KEY) => {
    const res = await s.app.request(path, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  };
  return { ...s, call };
}

const payout = (reference: string, amount = '1500') => ({
  reference,
  amount,
  currency: 'EUR',
  destination: { account_holder: 'Alice Example', iban: 'DE89370400440532013000' },
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('payout-sim', () => {
  it('accepts a payout once per reference and sends one signed settled result', async () => {
    const s = sim();
    const first = await s.call('POST', '/v1/payouts', payout('wd-1'));
    expect(first.status).toBe(201);
    const again = await s.call('POST', '/v1/payouts', payout('wd-1'));
    expect(again.status).toBe(200);
    expect(again.body.provider_payout_id).toBe(first.body.provider_payout_id);
    expect((await s.call('POST', '/v1/payouts', payout('wd-1', '1501'))).body.code).toBe(
      'payout_reference_conflict',
    );
    await until(() => received.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ valid: true, event: { reference: 'wd-1', status: 'settled' } });
    expect((await s.call('GET', '/v1/payouts/wd-1')).body.status).toBe('settled');
  });

  it('refuses a caller without the API key', async () => {
    const s = sim();
    expect((await s.call('POST', '/v1/payouts', payout('wd-2'), 'wrong-key-0000000000000')).status).toBe(401);
  });

  it('rejects by ratio, or when told to for one reference', async () => {
    const s = sim({ PAYOUT_SIM_REJECT_RATIO: '0.6' }, () => 0.5);
    await s.call('POST', '/v1/payouts', payout('by-ratio'));
    const quiet = sim({}, () => 0.99);
    await quiet.call('POST', '/admin/faults', { fault: 'reject', reference: 'told' });
    await quiet.call('POST', '/v1/payouts', payout('told'));
    await quiet.call('POST', '/v1/payouts', payout('untold'));
    await until(() => received.length === 3);
    const status = Object.fromEntries(received.map((r) => [r.event.reference, r.event.status]));
    expect(status).toEqual({ 'by-ratio': 'rejected', told: 'rejected', untold: 'settled' });
  });

  it('answers 5xx the given number of times without recording, then accepts', async () => {
    const s = sim();
    await s.call('POST', '/admin/faults', { fault: 'submit_5xx', reference: 'flaky', times: 2 });
    expect((await s.call('POST', '/v1/payouts', payout('flaky'))).status).toBe(503);
    expect((await s.call('GET', '/v1/payouts/flaky')).status).toBe(404);
    expect((await s.call('POST', '/v1/payouts', payout('flaky'))).status).toBe(503);
    expect((await s.call('POST', '/v1/payouts', payout('flaky'))).status).toBe(201);
  });

  it('duplicates, delays or withholds the result when told to', async () => {
    const s = sim();
    await s.call('POST', '/admin/faults', { fault: 'duplicate', reference: 'twice' });
    await s.call('POST', '/admin/faults', { fault: 'late', reference: 'late', delay_ms: 400 });
    await s.call('POST', '/admin/faults', { fault: 'no_result', reference: 'silent' });
    const started = Date.now();
    for (const ref of ['twice', 'late', 'silent']) await s.call('POST', '/v1/payouts', payout(ref));
    await until(() => received.length === 3);
    await new Promise((r) => setTimeout(r, 200));
    const refs = received.map((r) => r.event.reference).sort();
    expect(refs).toEqual(['late', 'twice', 'twice']);
    const twice = received.filter((r) => r.event.reference === 'twice');
    expect(twice[0]!.event.event_id).toBe(twice[1]!.event.event_id);
    expect(received.find((r) => r.event.reference === 'late')!.at - started).toBeGreaterThanOrEqual(400);
    expect((await s.call('GET', '/v1/payouts/silent')).body.status).toBe('settled');
  });

  it('retries the webhook until it answers 2xx, signing each attempt anew', async () => {
    const s = sim();
    answers = [500, 503];
    await s.call('POST', '/v1/payouts', payout('retried'));
    await until(() => received.length === 3);
    expect(received.every((r) => r.valid && r.event.reference === 'retried')).toBe(true);
  });

  it('a restart keeps every accepted payout (state file): a retried submit finds it, an undecided one is decided and reported', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'payout-sim-state-'));
    try {
      const file = path.join(dir, 'state.json');
      // The first process accepts two payouts and reports one; it stops before deciding the other.
      const first = sim({ PAYOUT_SIM_STATE_FILE: file, PAYOUT_SIM_SETTLE_DELAY_MS: '600000' });
      const reported = (await first.call('POST', '/v1/payouts', payout('before-crash'))).body;
      const undecided = (await first.call('POST', '/v1/payouts', payout('undecided'))).body;
      first.book.decide('before-crash', 'settled');
      first.book.reported('before-crash');
      first.close();

      const second = sim({ PAYOUT_SIM_STATE_FILE: file });
      const again = await second.call('POST', '/v1/payouts', payout('undecided'));
      expect(again.status).toBe(200);
      expect(again.body.provider_payout_id).toBe(undecided.provider_payout_id);
      expect((await second.call('POST', '/v1/payouts', payout('before-crash', '999'))).body.code).toBe(
        'payout_reference_conflict',
      );
      await until(() => received.length === 1);
      expect(received[0]!.event).toMatchObject({
        reference: 'undecided',
        provider_payout_id: undecided.provider_payout_id,
        status: 'settled',
      });
      // The one already acknowledged is not sent again.
      await new Promise((r) => setTimeout(r, 200));
      expect(received.map((r) => r.event.reference)).toEqual(['undecided']);
      expect((await second.call('GET', '/v1/payouts/before-crash')).body).toMatchObject({
        status: 'settled',
        provider_payout_id: reported.provider_payout_id,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
