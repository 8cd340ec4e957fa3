import { randomUUID } from 'node:crypto';
import { testEnv } from './test-env.js';

/** A response as a black-box client sees it. */
export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls the gateway the way an outside client following docs/api.md would. */
export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; idempotencyKey?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(`${testEnv('gatewayUrl')}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as T };
}

export function uniqueEmail(label: string): string {
  return `${label}-${randomUUID().slice(0, 12)}@example.com`;
}

/** A password that passes the policy (long, not in the common-password list). */
export function strongPassword(): string {
  return `Tq7!${randomUUID()}`;
}

export interface RegisteredUser {
  email: string;
  password: string;
  userId: string;
  walletId: string;
  token: string;
}

/** Registers a user through the onboarding saga and logs in. */
export async function registerAndLogin(label: string): Promise<RegisteredUser> {
  const email = uniqueEmail(label);
  const password = strongPassword();
  const reg = await api<{ user_id: string; wallet_id: string; status: string }>('POST', '/v1/auth/register', {
    body: { email, password },
  });
  if (reg.status !== 201) throw new Error(`register answered ${reg.status}: ${JSON.stringify(reg.body)}`);
  const token = await login(email, password);
  return { email, password, userId: reg.body.user_id, walletId: reg.body.wallet_id, token };
}

export async function login(email: string, password: string): Promise<string> {
  const res = await api<{ access_token?: string }>('POST', '/v1/auth/login', { body: { email, password } });
  if (res.status !== 200 || !res.body.access_token) {
    throw new Error(`login answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return res.body.access_token;
}

/** Polls `fn` until `done` accepts its value, or fails after `timeoutMs` with the last value. */
export async function eventually<T>(
  fn: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
    last = await fn();
  }
  return last;
}
