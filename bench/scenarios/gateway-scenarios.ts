/**
 * The scenarios driven through the gateway's public API (docs/api.md): transfers with
 * `Prefer: wait` counted when observed terminal, wallet reads with a fresh token per virtual
 * user, and login.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorClass, type BenchHttp } from '../http.js';
import type { Outcome } from '../open-loop.js';
import type { ScenarioSpec } from '../scenario.js';
import type { SearchPlan } from '../stats.js';
import type { BenchUser } from '../users.js';

/** Below the step-up threshold (100000) and far below any per-user daily limit. */
export const TRANSFER_AMOUNT = '100';

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'needs_attention', 'awaiting_confirmation']);

/** Outcomes of the transfers of one scenario, for the drift check of the hot wallet. */
export interface TransferTally {
  completed: number;
  /** Sent, but the bench stopped watching before a terminal status. */
  unknown: number;
}

/**
 * POST /v1/transfers with `Prefer: wait=30`; if the answer is not terminal yet, polls
 * GET /v1/transfers/:id until it is (or 60 s passed). Done = `completed`.
 */
async function transfer(
  api: BenchHttp,
  token: string,
  from: string,
  to: string,
  tally: TransferTally,
): Promise<Outcome> {
  const deadline = Date.now() + 60_000;
  const auth = { authorization: `Bearer ${token}` };
  let sent = false;
  try {
    const res = await api.request('POST', '/v1/transfers', {
      headers: {
        ...auth,
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
        prefer: 'wait=30',
      },
      body: JSON.stringify({
        from_wallet_id: from,
        to_wallet_id: to,
        amount: TRANSFER_AMOUNT,
        currency: 'USD',
      }),
      timeoutMs: 35_000,
    });
    sent = true;
    if (res.status !== 200 && res.status !== 201 && res.status !== 202) {
      if (res.status >= 500) tally.unknown++;
      return { ok: false, error: `http_${res.status}` };
    }
    let t = JSON.parse(res.body) as { id: string; status: string; failure_code?: string };
    while (!TERMINAL.has(t.status)) {
      if (Date.now() > deadline) {
        tally.unknown++;
        return { ok: false, error: 'not_terminal_in_60s' };
      }
      await sleep(200);
      const poll = await api.request('GET', `/v1/transfers/${t.id}`, { headers: auth, timeoutMs: 10_000 });
      if (poll.status === 200) t = JSON.parse(poll.body) as typeof t;
    }
    if (t.status === 'completed') {
      tally.completed++;
      return { ok: true };
    }
    return { ok: false, error: `${t.status}:${t.failure_code ?? ''}` };
  } catch (err) {
    // A lost answer after the request went out: the transfer may still happen.
    if (sent || errorClass(err) === 'timeout') tally.unknown++;
    return { ok: false, error: errorClass(err) };
  }
}

export interface TransferParty {
  user: BenchUser;
  token: string;
}

/** Random pairs among many wallets. */
export function uniformTransfers(
  api: BenchHttp,
  parties: TransferParty[],
  plan: SearchPlan,
  tally: TransferTally,
): ScenarioSpec {
  return {
    name: 'transfers/uniform',
    what: `POST /v1/transfers (${TRANSFER_AMOUNT} minor units, Prefer: wait) between random pairs of ${parties.length} wallets, counted when observed completed`,
    plan,
    criteria: { p99BoundMs: 3000 },
    send: () => {
      const a = Math.floor(Math.random() * parties.length);
      const b = (a + 1 + Math.floor(Math.random() * (parties.length - 1))) % parties.length;
      const from = parties[a]!;
      return transfer(api, from.token, from.user.walletId, parties[b]!.user.walletId, tally);
    },
  };
}

/** Every transfer credits one wallet. */
export function hotTransfers(
  api: BenchHttp,
  senders: TransferParty[],
  hotWalletId: string,
  plan: SearchPlan,
  tally: TransferTally,
): ScenarioSpec {
  return {
    name: 'transfers/hot',
    what: `POST /v1/transfers from ${senders.length} wallets, every one crediting the same wallet, counted when observed completed`,
    plan,
    criteria: { p99BoundMs: 3000 },
    send: () => {
      const from = senders[Math.floor(Math.random() * senders.length)]!;
      return transfer(api, from.token, from.user.walletId, hotWalletId, tally);
    },
  };
}

/** GET /v1/wallets/:id; request i belongs to virtual user i mod V, each with its own token. */
export function walletReads(
  api: BenchHttp,
  vus: { token: string; walletId: string }[],
  plan: SearchPlan,
): ScenarioSpec {
  return {
    name: 'reads',
    what: `GET /v1/wallets/:id, ${vus.length} virtual users with a fresh token each`,
    plan,
    criteria: { p99BoundMs: 250 },
    send: async (i) => {
      const vu = vus[i % vus.length]!;
      try {
        const res = await api.request('GET', `/v1/wallets/${vu.walletId}`, {
          headers: { authorization: `Bearer ${vu.token}` },
          timeoutMs: 10_000,
        });
        return res.status === 200 ? { ok: true } : { ok: false, error: `http_${res.status}` };
      } catch (err) {
        return { ok: false, error: errorClass(err) };
      }
    },
  };
}

/** POST /v1/auth/login (Argon2id on every one), users in turn. */
export function logins(api: BenchHttp, users: BenchUser[], plan: SearchPlan): ScenarioSpec {
  return {
    name: 'login',
    what: `POST /v1/auth/login, ${users.length} users in turn`,
    plan,
    criteria: { p99BoundMs: 1000 },
    send: async (i) => {
      const u = users[i % users.length]!;
      try {
        const res = await api.request('POST', '/v1/auth/login', {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: u.email, password: u.password }),
          timeoutMs: 10_000,
        });
        return res.status === 200 ? { ok: true } : { ok: false, error: `http_${res.status}` };
      } catch (err) {
        return { ok: false, error: errorClass(err) };
      }
    },
  };
}
