import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listAuthEvents } from '../audit/audit.repository.js';
import { createHarness, randomIp, strongPassword, uniqueEmail, type Harness } from '../testing/harness.js';
import { checkPassword, commonPasswordCount } from './password-policy.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe('password policy', () => {
  it('ships a common-password list of at least 10,000 entries and rejects its members', () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(10_000);
    expect(checkPassword('password123')).toBe('common');
    expect(checkPassword('Qwertyuiop')).toBe('common');
  });

  it('enforces 8 to 128 characters counted as code points, without truncation', () => {
    expect(checkPassword('Ab3$xyz')).toBe('too_short');
    expect(checkPassword('x'.repeat(129))).toBe('too_long');
    expect(checkPassword('🔑'.repeat(128))).toBeUndefined();
    expect(checkPassword('correct horse battery staple')).toBeUndefined();
  });
});

describe('login', () => {
  it('returns tokens for a correct password and /me describes the user', async () => {
    const user = await h.createUser();
    const res = await h.login(user.email.toUpperCase(), user.password);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 900,
      scope: 'openid wallet:read transfers:write',
    });
    expect(res.headers.get('cache-control')).toBe('no-store');
    const me = await h.json('GET', '/v1/auth/me', undefined, {
      authorization: `Bearer ${res.body.access_token}`,
    });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      user_id: user.id,
      email: user.email,
      roles: ['user'],
      mfa_enabled: false,
    });
  });

  it('gives the first-party app the full set: admin only to admin users, kept by refresh', async () => {
    const claims = (token: string) =>
      JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
        scope: string;
        roles: string[];
        client_id: string;
      };
    const admin = await h.createUser({ roles: ['user', 'admin'] });
    const session = await h.login(admin.email, admin.password);
    expect(session.body.scope).toBe('openid wallet:read transfers:write admin');
    expect(claims(session.body.access_token as string)).toMatchObject({
      scope: 'openid wallet:read transfers:write admin',
      roles: ['user', 'admin'],
      client_id: 'velora-app',
    });
    const refreshed = await h.form('/v1/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: session.body.refresh_token,
    });
    expect(refreshed.body.scope).toBe('openid wallet:read transfers:write admin');
    expect(claims(refreshed.body.access_token as string).scope).toBe(
      'openid wallet:read transfers:write admin',
    );

    const user = await h.createUser({ mfa: true });
    const challenge = await h.login(user.email, user.password);
    expect(challenge.body.mfa_required).toBe(true);
    const done = await h.json('POST', '/v1/auth/otp/verify', {
      challenge_id: challenge.body.challenge_id,
      code: await h.latestCode(user.email, 'login'),
    });
    expect(done.status).toBe(200);
    expect(claims(done.body.access_token as string)).toMatchObject({
      scope: 'openid wallet:read transfers:write',
      roles: ['user'],
    });
  });

  it('answers unknown emails and wrong passwords identically (no enumeration)', async () => {
    const user = await h.createUser();
    const wrong = await h.login(user.email, 'Not-The-Password-42');
    const unknown = await h.login(uniqueEmail('ghost'), 'Not-The-Password-42');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect([...unknown.headers.keys()].filter((k) => k !== 'x-request-id').sort()).toEqual(
      [...wrong.headers.keys()].filter((k) => k !== 'x-request-id').sort(),
    );
  });

  it('runs exactly one Argon2id verification for an unknown email, as for a known one', async () => {
    const user = await h.createUser();
    const verify = vi.spyOn(argon2, 'verify');
    try {
      await h.login(uniqueEmail('ghost'), 'Not-The-Password-42');
      expect(verify).toHaveBeenCalledTimes(1);
      expect(verify.mock.calls[0]![0]).toMatch(/^\$argon2id\$/);
      verify.mockClear();
      await h.login(user.email, 'Not-The-Password-42');
      expect(verify).toHaveBeenCalledTimes(1);
    } finally {
      verify.mockRestore();
    }
  });

  it('spends comparable Argon2 work for unknown emails (dummy hash) as for known ones', async () => {
    const user = await h.createUser();
    await h.login(uniqueEmail('warmup'), 'warm-up-password'); // builds the dummy hash once
    const time = async (email: string) => {
      const started = performance.now();
      await h.login(email, 'Definitely-Wrong-Password-1');
      return performance.now() - started;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i++) {
      known.push(await time(user.email));
      unknown.push(await time(uniqueEmail('ghost')));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    // Generous bound: without the dummy verification an unknown email would answer many times faster.
    expect(median(unknown)).toBeGreaterThan(median(known) / 3);
  });

  it('locks the IP+account pair after 10 consecutive failures with 429 and Retry-After >= 30 min', async () => {
    const user = await h.createUser();
    const ip = randomIp();
    for (let i = 0; i < 10; i++) {
      const res = await h.login(user.email, `wrong-password-${i}`, { 'x-forwarded-for': ip });
      expect(res.status).toBe(401);
    }
    const locked = await h.login(user.email, user.password, { 'x-forwarded-for': ip });
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('account_locked');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(29 * 60);
    // Another address is not locked out by someone else's guessing.
    const elsewhere = await h.login(user.email, user.password, { 'x-forwarded-for': randomIp() });
    expect(elsewhere.status).toBe(200);
    const events = await listAuthEvents(h.db, { subject: user.id, event: 'lockout' });
    expect(events).toHaveLength(1);
  });

  it('a success resets the consecutive-failure counter', async () => {
    const user = await h.createUser();
    const ip = randomIp();
    for (let i = 0; i < 9; i++) await h.login(user.email, `wrong-${i}-password`, { 'x-forwarded-for': ip });
    expect((await h.login(user.email, user.password, { 'x-forwarded-for': ip })).status).toBe(200);
    for (let i = 0; i < 9; i++) await h.login(user.email, `wrong-${i}-password`, { 'x-forwarded-for': ip });
    expect((await h.login(user.email, user.password, { 'x-forwarded-for': ip })).status).toBe(200);
  });

  it('rejects operator injection ($ne, $gt) and extra fields', async () => {
    const user = await h.createUser();
    for (const body of [
      { email: user.email, password: { $ne: null } },
      { email: { $gt: '' }, password: user.password },
      { email: user.email, password: user.password, role: 'admin' },
      { email: user.email, password: user.password, status: 'active' },
    ]) {
      const res = await h.json('POST', '/v1/auth/login', body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.access_token).toBeUndefined();
    }
  });

  it('refuses a disabled user even with the right password', async () => {
    const user = await h.createUser();
    const token = await h.serviceToken();
    await h.json(
      'POST',
      `/internal/users/${user.id}/disable`,
      { reason: 'test' },
      { authorization: `Bearer ${token}`, 'idempotency-key': `d-${user.id}` },
    );
    const res = await h.login(user.email, user.password);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('account_not_active');
  });
});

describe('logout', () => {
  it('revokes the refresh family and denylists the access token until it expires', async () => {
    const user = await h.createUser();
    const session = await h.login(user.email, user.password);
    const auth = { authorization: `Bearer ${session.body.access_token}` };
    const out = await h.json('POST', '/v1/auth/logout', { refresh_token: session.body.refresh_token }, auth);
    expect(out.status).toBe(204);
    const [, payload] = (session.body.access_token as string).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { jti: string; exp: number };
    const ttl = await h.redis.pTTL(`auth:denylist:${claims.jti}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual((claims.exp - Math.floor(Date.now() / 1000)) * 1000 + 11_000);
    expect((await h.json('GET', '/v1/auth/me', undefined, auth)).status).toBe(401);
    const refresh = await h.form('/v1/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: session.body.refresh_token,
    });
    expect(refresh.status).toBe(400);
    expect(refresh.body.error).toBe('invalid_grant');
  });
});

describe('logout without the refresh token', () => {
  it('ends the session of the access token: its sid names the refresh family, which is revoked', async () => {
    const user = await h.createUser();
    const other = await h.login(user.email, user.password);
    const session = await h.login(user.email, user.password);
    const rotated = await h.form('/v1/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: session.body.refresh_token,
    });
    expect(rotated.status).toBe(200);
    // The client lost its refresh token (or never sends it): logout with the bearer alone.
    const auth = { authorization: `Bearer ${rotated.body.access_token}` };
    const out = await h.app.request('/v1/auth/logout', { method: 'POST', headers: auth });
    expect(out.status).toBe(204);
    expect((await h.json('GET', '/v1/auth/me', undefined, auth)).status).toBe(401);
    const refresh = await h.form('/v1/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: rotated.body.refresh_token,
    });
    expect(refresh.status).toBe(400);
    expect(refresh.body.error).toBe('invalid_grant');
    // Only that session: the user's other login lives on.
    const still = await h.form('/v1/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: other.body.refresh_token,
    });
    expect(still.status).toBe(200);
    const sid = (token: string) =>
      (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid?: string }).sid;
    const family = await h.services.tokens.inspectRefreshToken(rotated.body.refresh_token as string);
    // The sid is the family, and a refresh keeps it.
    expect(sid(session.body.access_token as string)).toBe(family!.family_id);
    expect(sid(rotated.body.access_token as string)).toBe(family!.family_id);
  });
});

describe('internal account API', () => {
  it('requires a service token with auth:internal', async () => {
    const user = await h.createUser();
    const session = await h.login(user.email, user.password);
    const asUser = await h.json('GET', `/internal/users/${user.id}`, undefined, {
      authorization: `Bearer ${session.body.access_token}`,
    });
    expect(asUser.status).toBe(403);
    const none = await h.json('GET', `/internal/users/${user.id}`);
    expect(none.status).toBe(401);
    const limited = await h.serviceToken(undefined, 'wallet:read');
    expect(
      (await h.json('GET', `/internal/users/${user.id}`, undefined, { authorization: `Bearer ${limited}` }))
        .status,
    ).toBe(403);
  });

  it('parks a registration, creates a pending user, activates it; the owner of a taken email is notified', async () => {
    const token = await h.serviceToken();
    const auth = { authorization: `Bearer ${token}` };
    const email = uniqueEmail('reg');
    const password = strongPassword();
    const reg = await h.json(
      'POST',
      '/internal/registrations',
      { email: email.toUpperCase(), password },
      { ...auth, 'idempotency-key': `reg-${email}` },
    );
    expect(reg.status).toBe(201);
    expect(JSON.stringify(reg.body)).not.toContain(password);
    const created = await h.json(
      'POST',
      '/internal/users',
      { registration_id: reg.body.registration_id },
      { ...auth, 'idempotency-key': `u-${email}` },
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email, status: 'pending', existing: false });
    // A retried create (new key) answers the same.
    const again = await h.json(
      'POST',
      '/internal/users',
      { registration_id: reg.body.registration_id },
      { ...auth, 'idempotency-key': `u2-${email}` },
    );
    expect(again.body.user_id).toBe(created.body.user_id);
    const userId = created.body.user_id as string;
    expect((await h.login(email, password)).status).toBe(403);
    const activated = await h.json('POST', `/internal/users/${userId}/activate`, undefined, {
      ...auth,
      'idempotency-key': `a-${email}`,
    });
    expect(activated.body).toEqual({ user_id: userId, status: 'active' });
    expect((await h.login(email, password)).status).toBe(200);

    // Same email again: same shape, a random id, and the real owner gets a notice.
    const reg2 = await h.json(
      'POST',
      '/internal/registrations',
      { email, password: strongPassword() },
      { ...auth, 'idempotency-key': `reg2-${email}` },
    );
    const dup = await h.json(
      'POST',
      '/internal/users',
      { registration_id: reg2.body.registration_id },
      { ...auth, 'idempotency-key': `u3-${email}` },
    );
    expect(dup.status).toBe(200);
    expect(dup.body.existing).toBe(true);
    expect(dup.body.user_id).not.toBe(userId);
    const outbox = await h.json('GET', `/dev/outbox?recipient=${encodeURIComponent(email)}`);
    expect(outbox.body.items[0]).toMatchObject({ recipient: email, purpose: 'account_exists', code: null });
  });

  it('rejects weak passwords, extra fields and repeats with another body', async () => {
    const auth = { authorization: `Bearer ${await h.serviceToken()}` };
    const weak = await h.json(
      'POST',
      '/internal/registrations',
      { email: uniqueEmail(), password: 'iloveyou1' },
      { ...auth, 'idempotency-key': `w-${Math.random()}` },
    );
    expect(weak.status).toBe(422);
    expect(weak.body).toMatchObject({ code: 'weak_password', reason: 'common' });
    const extra = await h.json(
      'POST',
      '/internal/registrations',
      { email: uniqueEmail(), password: strongPassword(), role: 'admin' },
      { ...auth, 'idempotency-key': `x-${Math.random()}` },
    );
    expect(extra.status).toBe(400);
    const key = `k-${Math.random()}`;
    const first = await h.json(
      'POST',
      '/internal/registrations',
      { email: uniqueEmail(), password: strongPassword() },
      { ...auth, 'idempotency-key': key },
    );
    expect(first.status).toBe(201);
    const other = await h.json(
      'POST',
      '/internal/registrations',
      { email: uniqueEmail(), password: strongPassword() },
      { ...auth, 'idempotency-key': key },
    );
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_mismatch');
    const missing = await h.json(
      'POST',
      '/internal/registrations',
      { email: uniqueEmail(), password: strongPassword() },
      auth,
    );
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('idempotency_key_required');
  });

  it('serves tier and limits, and email verification moves the user to the verified tier', async () => {
    const auth = { authorization: `Bearer ${await h.serviceToken()}` };
    const user = await h.createUser();
    const before = await h.json('GET', `/internal/users/${user.id}`, undefined, auth);
    expect(before.body).toMatchObject({
      user_id: user.id,
      status: 'active',
      roles: ['user'],
      tier: 'unverified',
      limits: { per_transfer: '500000', daily: '2000000' },
    });
    const sent = await h.json('POST', '/v1/auth/otp/send', { email: user.email, purpose: 'verify_email' });
    expect(sent.status).toBe(202);
    const code = await h.latestCode(user.email, 'verify_email');
    const verified = await h.json('POST', '/v1/auth/otp/verify', {
      challenge_id: sent.body.challenge_id,
      code,
    });
    expect(verified.body).toEqual({ email_verified: true });
    const after = await h.json('GET', `/internal/users/${user.id}`, undefined, auth);
    expect(after.body).toMatchObject({
      tier: 'verified',
      limits: { per_transfer: '5000000', daily: '20000000' },
    });
    expect(
      (await h.json('GET', '/internal/users/00000000-0000-0000-0000-000000000000', undefined, auth)).body
        .code,
    ).toBe('user_not_found');
    expect((await h.json('GET', '/internal/users/not-a-uuid', undefined, auth)).status).toBe(404);
  });

  it('OTP send for an unknown email answers like a known one', async () => {
    const user = await h.createUser();
    const known = await h.json('POST', '/v1/auth/otp/send', { email: user.email, purpose: 'verify_email' });
    const unknown = await h.json('POST', '/v1/auth/otp/send', {
      email: uniqueEmail('ghost'),
      purpose: 'verify_email',
    });
    expect(unknown.status).toBe(known.status);
    expect(Object.keys(unknown.body).sort()).toEqual(Object.keys(known.body).sort());
    // A second request within the cooldown is refused alike for both.
    const knownAgain = await h.json('POST', '/v1/auth/otp/send', {
      email: user.email,
      purpose: 'verify_email',
    });
    const unknownAgain = await h.json('POST', '/v1/auth/otp/send', {
      email: uniqueEmail('ghost'),
      purpose: 'verify_email',
    });
    expect(knownAgain.status).toBe(429);
    expect(knownAgain.body.code).toBe('otp_cooldown');
    expect(unknownAgain.status).toBe(202); // a different unknown email has no cooldown yet
    const ghost = uniqueEmail('ghost');
    await h.json('POST', '/v1/auth/otp/send', { email: ghost, purpose: 'verify_email' });
    const ghostAgain = await h.json('POST', '/v1/auth/otp/send', { email: ghost, purpose: 'verify_email' });
    expect(ghostAgain.status).toBe(429);
    expect(ghostAgain.body).toEqual(knownAgain.body);
  });

  it('OTP verify answers an unknown email exactly like a known one (the enumeration pair)', async () => {
    const user = await h.createUser();
    const ghost = uniqueEmail('ghost');
    const known = await h.json('POST', '/v1/auth/otp/send', { email: user.email, purpose: 'verify_email' });
    const unknown = await h.json('POST', '/v1/auth/otp/send', { email: ghost, purpose: 'verify_email' });
    expect([known.status, unknown.status]).toEqual([202, 202]);
    // The same wrong code at both challenges, until the budget is gone and past it.
    const code = await h.latestCode(user.email, 'verify_email');
    const guess = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const headerNames = (headers: Headers) =>
      [...headers.keys()].filter((k) => k !== 'x-request-id' && k !== 'date').sort();
    for (let i = 0; i < 6; i++) {
      const a = await h.json('POST', '/v1/auth/otp/verify', {
        challenge_id: known.body.challenge_id,
        code: guess,
      });
      const b = await h.json('POST', '/v1/auth/otp/verify', {
        challenge_id: unknown.body.challenge_id,
        code: guess,
      });
      expect(b.status).toBe(a.status);
      expect(b.body).toEqual(a.body);
      expect(headerNames(b.headers)).toEqual(headerNames(a.headers));
      expect(a.body.code).toBe(i < 4 ? 'otp_invalid' : 'otp_exhausted');
    }
    // The decoy was stored like a real challenge, and the exhausted budget killed it like one.
    const stored = await h.redis.keys(`auth:otp:verify_email:*:${unknown.body.challenge_id}`);
    expect(stored).toHaveLength(1);
    expect(await h.redis.hGet(stored[0]!, 'dead')).toBe('1');
  });

  it('disabling a user ends every session at once (refresh and access tokens)', async () => {
    const user = await h.createUser();
    const a = await h.login(user.email, user.password);
    const b = await h.login(user.email, user.password);
    const auth = { authorization: `Bearer ${await h.serviceToken()}` };
    const res = await h.json(
      'POST',
      `/internal/users/${user.id}/disable`,
      { reason: 'fraud' },
      { ...auth, 'idempotency-key': `dis-${user.id}` },
    );
    expect(res.body).toEqual({ user_id: user.id, status: 'disabled' });
    for (const s of [a, b]) {
      expect(
        (await h.json('GET', '/v1/auth/me', undefined, { authorization: `Bearer ${s.body.access_token}` }))
          .status,
      ).toBe(401);
      expect(
        await h.services.tokens.isRevoked(
          JSON.parse(Buffer.from((s.body.access_token as string).split('.')[1]!, 'base64url').toString()).jti,
        ),
      ).toBe(true);
      const r = await h.form('/v1/auth/token', {
        grant_type: 'refresh_token',
        refresh_token: s.body.refresh_token,
      });
      expect(r.body.error).toBe('invalid_grant');
    }
  });
});

describe('per-IP daily failure budget', () => {
  it('blocks an address that fails across many accounts (password spraying)', async () => {
    const small = await createHarness({ overrides: { AUTH_LOGIN_MAX_FAILURES_PER_IP_DAY: '5' } });
    try {
      const ip = randomIp();
      const victim = await small.createUser();
      for (let i = 0; i < 5; i++) {
        expect(
          (await small.login(uniqueEmail('spray'), 'Spring2026!', { 'x-forwarded-for': ip })).status,
        ).toBe(401);
      }
      const blocked = await small.login(victim.email, victim.password, { 'x-forwarded-for': ip });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(3600);
      expect(
        (await small.login(victim.email, victim.password, { 'x-forwarded-for': randomIp() })).status,
      ).toBe(200);
    } finally {
      await small.close();
    }
  });
});
