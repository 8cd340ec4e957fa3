/**
 * Bench users through the public API (docs/api.md): register, fund with admin deposits,
 * and mint a fresh access token per virtual user from the refresh-token grant (a login per
 * token would spend a whole Argon2 hash on setup, and tokens expire after 15 minutes, so each
 * scenario mints its own just before it starts).
 */
import { randomUUID } from 'node:crypto';
import type { BenchHttp } from './http.js';

export interface BenchUser {
  email: string;
  password: string;
  userId: string;
  walletId: string;
  /** Rotated by every refresh: the newest one of the family. */
  refreshToken: string;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
}

async function json(
  api: BenchHttp,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const res = await api.request(method, path, {
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    timeoutMs: 60_000,
  });
  let parsed: Record<string, unknown> = {};
  try {
    parsed = res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {};
  } catch {
    /* not JSON: reported with the status below */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export async function login(api: BenchHttp, email: string, password: string): Promise<TokenPair> {
  const res = await json(api, 'POST', '/v1/auth/login', { email, password });
  if (res.status !== 200 || typeof res.body.access_token !== 'string')
    throw new Error(`login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as unknown as TokenPair;
}

/** A new access token for `user` (refresh grant of the first-party client); rotates its refresh token. */
export async function freshToken(api: BenchHttp, user: BenchUser): Promise<string> {
  const res = await api.request('POST', '/v1/auth/token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: user.refreshToken }).toString(),
    timeoutMs: 30_000,
  });
  const body = JSON.parse(res.body || '{}') as Partial<TokenPair>;
  if (res.status !== 200 || !body.access_token || !body.refresh_token)
    throw new Error(`refresh for ${user.email}: ${res.status} ${res.body.slice(0, 200)}`);
  user.refreshToken = body.refresh_token;
  return body.access_token;
}

/** `count` fresh tokens per user, in user order (`[user0#0, user0#1, …]`); users in parallel. */
export async function freshTokens(api: BenchHttp, users: BenchUser[], perUser: number): Promise<string[][]> {
  return Promise.all(
    users.map(async (u) => {
      const tokens: string[] = [];
      // One family per user: refreshes of a family must happen one after another.
      for (let i = 0; i < perUser; i++) tokens.push(await freshToken(api, u));
      return tokens;
    }),
  );
}

/** Registers `n` users (a few at a time) and deposits `funds` minor units into each wallet. */
export async function createUsers(
  api: BenchHttp,
  options: { n: number; funds: string; adminToken: string; parallel?: number },
): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  let next = 0;
  const one = async () => {
    const email = `bench-${randomUUID().slice(0, 12)}@example.com`;
    const password = `Bench-${randomUUID()}`;
    const reg = await json(api, 'POST', '/v1/auth/register', { email, password });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
    const walletId = String(reg.body.wallet_id);
    const dep = await json(
      api,
      'POST',
      `/v1/admin/wallets/${walletId}/deposits`,
      { amount: options.funds, currency: 'USD', reference: `bench-${randomUUID()}` },
      { authorization: `Bearer ${options.adminToken}`, 'idempotency-key': randomUUID() },
    );
    if (dep.status !== 201 && dep.status !== 200)
      throw new Error(`deposit: ${dep.status} ${JSON.stringify(dep.body)}`);
    const tokens = await login(api, email, password);
    users.push({
      email,
      password,
      userId: String(reg.body.user_id),
      walletId,
      refreshToken: tokens.refresh_token,
    });
  };
  await Promise.all(
    Array.from({ length: Math.min(options.parallel ?? 4, options.n) }, async () => {
      while (next < options.n) {
        next++;
        await one();
      }
    }),
  );
  return users;
}

/** The wallet's posted balance (minor units) as its owner sees it. */
export async function postedBalance(api: BenchHttp, walletId: string, token: string): Promise<bigint> {
  const res = await api.request('GET', `/v1/wallets/${walletId}`, {
    headers: { authorization: `Bearer ${token}` },
    timeoutMs: 30_000,
  });
  if (res.status !== 200) throw new Error(`GET wallet ${walletId}: ${res.status} ${res.body.slice(0, 200)}`);
  return BigInt((JSON.parse(res.body) as { balance: { posted: string } }).balance.posted);
}
