import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  eventually,
  login,
  registerAndLogin,
  strongPassword,
  uniqueEmail,
  type RegisteredUser,
} from '../support/api-client.js';
import { requiredEnv, testEnv } from '../support/test-env.js';
import { expectCleanBooks } from '../support/books.js';
import { codeIn, latestMail } from '../support/mailpit-client.js';
import { messageSubject } from '../../auth/otp/message-templates.js';

interface Transfer {
  id: string;
  status: string;
  failure_code?: string;
  steps: { name: string; status: string; attempts: number }[];
}
interface Wallet {
  id: string;
  currency: string;
  balance: { posted: string; pending: string; available: string };
}

/**
 * Reads the newest OTP AuthService emailed to `email` for `purpose`, from the stack's Mailpit:
 * the SMTP path production uses, read the way the person would read it.
 */
async function latestOtp(email: string, purpose: 'step_up'): Promise<string> {
  return codeIn(await latestMail(requiredEnv('TEST_STACK_MAILPIT_URL'), email, messageSubject(purpose)));
}

/**
 * Every route of docs/api.md through the running stack, as a client that knows only that
 * page: status codes, field names, idempotency, step-up, cancel, logout, and the attack list.
 */
describe('the public API contract', () => {
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let admin: string;

  async function deposit(walletId: string, amount: string) {
    const res = await api('POST', `/v1/admin/wallets/${walletId}/deposits`, {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { amount, currency: 'USD', reference: `e2e-${randomUUID()}` },
    });
    expect(res.status).toBe(201);
  }

  async function transfer(from: RegisteredUser, to: RegisteredUser, amount: string, wait?: number) {
    return api<Transfer>('POST', '/v1/transfers', {
      token: from.token,
      idempotencyKey: randomUUID(),
      headers: wait ? { prefer: `wait=${wait}` } : {},
      body: { from_wallet_id: from.walletId, to_wallet_id: to.walletId, amount, currency: 'USD' },
    });
  }

  beforeAll(async () => {
    [alice, bob] = await Promise.all([registerAndLogin('api-alice'), registerAndLogin('api-bob')]);
    admin = await login(requiredEnv('TEST_STACK_ADMIN_EMAIL'), requiredEnv('TEST_STACK_ADMIN_PASSWORD'));
    await deposit(alice.walletId, '1000000');
  });

  describe('auth', () => {
    it('serves discovery and JWKS through the gateway', async () => {
      const discovery = await api<{ issuer: string; jwks_uri: string }>(
        'GET',
        '/.well-known/openid-configuration',
      );
      expect(discovery.status).toBe(200);
      expect(discovery.body.issuer).toBe(testEnv('authUrl'));
      const jwks = await api<{ keys: { kid: string; alg: string }[] }>('GET', '/.well-known/jwks.json');
      expect(jwks.status).toBe(200);
      expect(jwks.body.keys.length).toBeGreaterThan(0);
      expect(jwks.body.keys.every((k) => k.alg === 'ES256')).toBe(true);
    });

    it('answers login with the token fields of the contract', async () => {
      const res = await api<Record<string, unknown>>('POST', '/v1/auth/login', {
        body: { email: alice.email, password: alice.password },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ token_type: 'Bearer' });
      expect(typeof res.body.access_token).toBe('string');
      expect(typeof res.body.refresh_token).toBe('string');
      expect(typeof res.body.expires_in).toBe('number');
    });

    it('refuses a wrong password and an unknown email with the same answer', async () => {
      const known = await api<{ code: string; status: number }>('POST', '/v1/auth/login', {
        body: { email: alice.email, password: 'Wrong-password-123' },
      });
      const unknown = await api<{ code: string; status: number }>('POST', '/v1/auth/login', {
        body: { email: uniqueEmail('nobody'), password: 'Wrong-password-123' },
      });
      expect(known.status).toBe(401);
      expect(unknown.status).toBe(known.status);
      expect(unknown.body.code).toBe(known.body.code);
    });

    it('rotates refresh tokens and revokes the family on reuse', async () => {
      const first = await api<{ refresh_token: string }>('POST', '/v1/auth/login', {
        body: { email: bob.email, password: bob.password },
      });
      const refresh = async (token: string) => {
        const res = await fetch(`${testEnv('gatewayUrl')}/v1/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: token,
            client_id: 'velora-app',
          }),
        });
        return { status: res.status, body: (await res.json()) as { refresh_token?: string; error?: string } };
      };
      const second = await refresh(first.body.refresh_token);
      expect(second.status).toBe(200);
      expect(second.body.refresh_token).toBeDefined();
      expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
      // Replaying the used token is theft: it fails and the whole family dies.
      expect((await refresh(first.body.refresh_token)).status).toBe(400);
      expect((await refresh(second.body.refresh_token!)).status).toBe(400);
    });

    it('logout stops the access token at once', async () => {
      const session = await api<{ access_token: string; refresh_token: string }>('POST', '/v1/auth/login', {
        body: { email: bob.email, password: bob.password },
      });
      const token = session.body.access_token;
      expect((await api('GET', '/v1/auth/me', { token })).status).toBe(200);
      const out = await api('POST', '/v1/auth/logout', {
        token,
        body: { refresh_token: session.body.refresh_token },
      });
      expect(out.status).toBe(204);
      const after = await api<{ code: string }>('GET', '/v1/auth/me', { token });
      expect(after.status).toBe(401);
    });

    it('registers with a clear error for a weak password and changes nothing', async () => {
      const email = uniqueEmail('weak');
      const res = await api<{ code: string }>('POST', '/v1/auth/register', {
        body: { email, password: 'password' },
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const loginAttempt = await api('POST', '/v1/auth/login', { body: { email, password: 'password' } });
      expect(loginAttempt.status).toBe(401);
    });

    it('rejects mass assignment of role or status at registration', async () => {
      const res = await api('POST', '/v1/auth/register', {
        body: { email: uniqueEmail('mass'), password: strongPassword(), role: 'admin', status: 'active' },
      });
      expect(res.status).toBe(400);
    });
  });

  describe('wallets', () => {
    it('lists, creates idempotently per currency, reads and pages history', async () => {
      const created = await api<Wallet>('POST', '/v1/wallets', {
        token: alice.token,
        body: { currency: 'EUR' },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        currency: 'EUR',
        balance: { posted: '0', pending: '0', available: '0' },
      });
      const again = await api<Wallet>('POST', '/v1/wallets', {
        token: alice.token,
        body: { currency: 'EUR' },
      });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(created.body.id);
      const list = await api<{ items: Wallet[] }>('GET', '/v1/wallets', { token: alice.token });
      expect(list.body.items.map((w) => w.currency).sort()).toEqual(['EUR', 'USD']);

      const page = await api<{ items: unknown[]; next_cursor: string | null }>(
        'GET',
        `/v1/wallets/${alice.walletId}/transactions?limit=1`,
        { token: alice.token },
      );
      expect(page.status).toBe(200);
      expect(page.body.items).toHaveLength(1);
    });

    it("hides another user's wallet (BOLA)", async () => {
      const res = await api('GET', `/v1/wallets/${alice.walletId}`, { token: bob.token });
      expect([403, 404]).toContain(res.status);
      const history = await api('GET', `/v1/wallets/${alice.walletId}/transactions`, { token: bob.token });
      expect([403, 404]).toContain(history.status);
    });

    it('lets only admins deposit', async () => {
      const res = await api('POST', `/v1/admin/wallets/${bob.walletId}/deposits`, {
        token: bob.token,
        idempotencyKey: randomUUID(),
        body: { amount: '100', currency: 'USD', reference: 'self-service' },
      });
      expect(res.status).toBe(403);
    });
  });

  describe('transfers', () => {
    it('completes within Prefer: wait and lists it for its initiator', async () => {
      const res = await transfer(alice, bob, '1500', 20);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('completed');
      const list = await eventually(
        () =>
          api<{ items: Transfer[] }>('GET', '/v1/transfers?status=completed&limit=50', {
            token: alice.token,
          }),
        (r) => r.body.items.some((t) => t.id === res.body.id),
        20_000,
      );
      expect(list.status).toBe(200);
      const other = await api<{ items: Transfer[] }>('GET', '/v1/transfers?limit=50', { token: bob.token });
      expect(other.body.items.some((t) => t.id === res.body.id)).toBe(false);
      const peek = await api('GET', `/v1/transfers/${res.body.id}`, { token: bob.token });
      expect([403, 404]).toContain(peek.status);
    });

    it('fails for insufficient funds with nothing moved', async () => {
      const before = await api<Wallet>('GET', `/v1/wallets/${bob.walletId}`, { token: bob.token });
      const res = await transfer(bob, alice, '99999999', 20);
      expect(res.body.status).toBe('failed');
      expect(res.body.failure_code).toMatch(/insufficient_funds|limit_exceeded/);
      const after = await api<Wallet>('GET', `/v1/wallets/${bob.walletId}`, { token: bob.token });
      expect(after.body.balance).toEqual(before.body.balance);
    });

    it('holds a large transfer for OTP step-up and completes it with the code', async () => {
      const res = await transfer(alice, bob, '150000', 10);
      expect(res.body.status).toBe('awaiting_confirmation');
      const code = await latestOtp(alice.email, 'step_up');
      const confirmed = await api<Transfer>('POST', `/v1/transfers/${res.body.id}/confirm`, {
        token: alice.token,
        body: { code },
      });
      expect(confirmed.status).toBe(200);
      const done = await eventually(
        () => api<Transfer>('GET', `/v1/transfers/${res.body.id}`, { token: alice.token }),
        (r) => ['completed', 'failed', 'cancelled'].includes(r.body.status),
      );
      expect(done.body.status).toBe('completed');
    });

    it('cancels before capture, and refuses to cancel after', async () => {
      const pending = await transfer(alice, bob, '120000', 10);
      expect(pending.body.status).toBe('awaiting_confirmation');
      const cancelled = await api<Transfer>('POST', `/v1/transfers/${pending.body.id}/cancel`, {
        token: alice.token,
      });
      expect(cancelled.status).toBe(200);
      const ended = await eventually(
        () => api<Transfer>('GET', `/v1/transfers/${pending.body.id}`, { token: alice.token }),
        (r) => r.body.status === 'cancelled',
      );
      expect(ended.body.failure_code).toBe('cancelled_by_user');

      const done = await transfer(alice, bob, '700', 20);
      expect(done.body.status).toBe('completed');
      const late = await api('POST', `/v1/transfers/${done.body.id}/cancel`, { token: alice.token });
      expect(late.status).toBe(409);
    });

    it('keeps the Idempotency-Key promises', async () => {
      const key = randomUUID();
      const body = {
        from_wallet_id: alice.walletId,
        to_wallet_id: bob.walletId,
        amount: '300',
        currency: 'USD',
      };
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          api<Transfer>('POST', '/v1/transfers', { token: alice.token, idempotencyKey: key, body }),
        ),
      );
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      const mismatch = await api<{ code: string }>('POST', '/v1/transfers', {
        token: alice.token,
        idempotencyKey: key,
        body: { ...body, amount: '301' },
      });
      expect(mismatch.status).toBe(422);
      expect(mismatch.body.code).toBe('idempotency_key_mismatch');
      const missing = await api('POST', '/v1/transfers', { token: alice.token, body });
      expect(missing.status).toBe(400);
    });

    // A 20-digit amount is well formed but above the maximum: 422 amount_too_large (money-attacks.test.ts).
    it.each([['0'], ['-1'], ['1.5'], ['1e3'], [100]])(
      'rejects the amount %j with a problem and no transfer',
      async (amount) => {
        const res = await api<{ code: string }>('POST', '/v1/transfers', {
          token: alice.token,
          idempotencyKey: randomUUID(),
          body: { from_wallet_id: alice.walletId, to_wallet_id: bob.walletId, amount, currency: 'USD' },
        });
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
      },
    );

    it("refuses to move money from another user's wallet", async () => {
      const res = await api('POST', '/v1/transfers', {
        token: bob.token,
        idempotencyKey: randomUUID(),
        body: { from_wallet_id: alice.walletId, to_wallet_id: bob.walletId, amount: '100', currency: 'USD' },
      });
      expect([403, 404]).toContain(res.status);
    });
  });

  it('leaves the books clean (reconciliation finds nothing)', async () => {
    await expectCleanBooks();
  });

  describe('docs and health', () => {
    it('serves the OpenAPI document, the reference page and probes', async () => {
      const doc = await api<{ openapi: string; paths: Record<string, unknown> }>('GET', '/openapi.json');
      expect(doc.body.openapi).toMatch(/^3\.1/);
      expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/transfers', '/v1/wallets']));
      const docs = await fetch(`${testEnv('gatewayUrl')}/docs`);
      expect(docs.status).toBe(200);
      expect((await api('GET', '/readyz')).status).toBe(200);
      expect((await api('GET', '/healthz')).status).toBe(200);
    });
  });
});
