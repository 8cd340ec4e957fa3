import { createHash } from 'node:crypto';
import argon2 from 'argon2';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuthEvents } from '../audit/audit.repository.js';
import { createAuthorizationCodeStore } from '../oauth/authorization-codes.js';
import { upsertClient } from '../oauth/clients.repository.js';
import { OTP_MAX_ATTEMPTS } from '../otp/otp.service.js';
import { redisKeys } from '../redis.js';
import { createHarness, randomIp, strongPassword, uniqueEmail, type Harness } from '../testing/harness.js';
import { hashOpaqueToken } from '../tokens/tokens.service.js';
import { findUserById, setUserStatus } from '../users/users.repository.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A signed-in session of `user`: its tokens and a header to call with. */
async function signIn(user: { email: string; password: string }, ip = h.ip) {
  const res = await h.login(user.email, user.password, { 'x-forwarded-for': ip });
  expect(res.status).toBe(200);
  return {
    accessToken: res.body.access_token as string,
    refreshToken: res.body.refresh_token as string,
    auth: bearer(res.body.access_token as string),
  };
}

const me = (token: string) => h.json('GET', '/v1/auth/me', undefined, bearer(token));
const refresh = (refreshToken: string) =>
  h.form('/v1/auth/token', { grant_type: 'refresh_token', refresh_token: refreshToken });

const change = (auth: Record<string, string>, current_password: string, new_password: string) =>
  h.json('POST', '/v1/auth/password/change', { current_password, new_password }, auth);
const requestReset = (email: string, ip = h.ip) =>
  h.json('POST', '/v1/auth/password/reset', { email }, { 'x-forwarded-for': ip });
const confirmReset = (email: string, code: string, new_password: string) =>
  h.json('POST', '/v1/auth/password/reset/confirm', { email, code, new_password });

async function outbox(recipient: string) {
  return ((await h.services.devOutbox?.(recipient)) ?? []).map((i) => [i.purpose, i.code]);
}

describe('POST /v1/auth/password/change', () => {
  it('sets the new password (Argon2id, policy parameters), keeps the caller signed in and ends every other session', async () => {
    const user = await h.createUser();
    const mine = await signIn(user);
    const other = await signIn(user, randomIp());
    const next = strongPassword();

    const res = await change(mine.auth, user.password, next);
    expect(res.status).toBe(204);

    // The caller's session lives on: its access token, and its refresh token rotates.
    expect((await me(mine.accessToken)).status).toBe(200);
    expect((await refresh(mine.refreshToken)).status).toBe(200);
    // The other session is over: access token denylisted, refresh family revoked.
    expect((await me(other.accessToken)).status).toBe(401);
    const stale = await refresh(other.refreshToken);
    expect(stale.status).toBe(400);
    expect(stale.body.error).toBe('invalid_grant');

    expect((await h.login(user.email, user.password)).status).toBe(401);
    expect((await h.login(user.email, next)).status).toBe(200);
    const stored = await findUserById(h.db, user.id);
    expect(stored!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(await argon2.verify(stored!.password_hash, next)).toBe(true);

    expect(await outbox(user.email)).toEqual([['password_changed', null]]);
    const [event] = await listAuthEvents(h.db, { subject: user.id, event: 'password_changed' });
    expect(event).toMatchObject({ outcome: 'success', details: { kept_family_id: expect.any(String) } });
    expect(JSON.stringify(event!.details)).not.toContain(next);
  });

  it('attack: a wrong current password changes nothing and runs into the login lockout', async () => {
    const user = await h.createUser();
    const ip = randomIp();
    const mine = await signIn(user, ip);
    const other = await signIn(user, randomIp());
    const auth = { ...mine.auth, 'x-forwarded-for': ip };
    const wrong = await change(auth, 'Not-The-Password-1', strongPassword());
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect(wrong.body.code).toBe('invalid_credentials');
    // Nothing changed: the old password works, the other session lives.
    expect((await me(other.accessToken)).status).toBe(200);
    expect((await h.login(user.email, user.password, { 'x-forwarded-for': ip })).status).toBe(200);

    for (let i = 0; i < 10; i++)
      expect((await change(auth, `guess-${i}-pw`, strongPassword())).status).toBe(401);
    const locked = await change(auth, user.password, strongPassword());
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('account_locked');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(29 * 60);
    // The same counters as a login: the password cannot be tried there instead.
    expect((await h.login(user.email, user.password, { 'x-forwarded-for': ip })).status).toBe(429);
    expect((await me(other.accessToken)).status).toBe(200);
    expect(await listAuthEvents(h.db, { subject: user.id, event: 'lockout' })).toHaveLength(1);
  });

  it('applies the password policy to the new password (and changes nothing)', async () => {
    const user = await h.createUser({ email: uniqueEmail('policy') });
    const mine = await signIn(user);
    for (const [next, reason] of [
      ['password123', 'common'],
      ['Ab3$xyz', 'too_short'],
      ['x'.repeat(129), 'too_long'],
      [user.email, 'contains_email'],
    ] as const) {
      const res = await change(mine.auth, user.password, next);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'weak_password', reason });
    }
    expect((await h.login(user.email, user.password)).status).toBe(200);
  });

  it('needs a user access token and a strict body', async () => {
    const user = await h.createUser();
    const body = { current_password: user.password, new_password: strongPassword() };
    expect((await h.json('POST', '/v1/auth/password/change', body)).status).toBe(401);
    const service = await h.serviceToken();
    const asService = await h.json('POST', '/v1/auth/password/change', body, bearer(service));
    expect(asService.status).toBe(403);
    expect(asService.body.code).toBe('user_token_required');
    const mine = await signIn(user);
    const extra = await h.json(
      'POST',
      '/v1/auth/password/change',
      { ...body, user_id: 'someone' },
      mine.auth,
    );
    expect(extra.status).toBe(400);
    // A logged-out token is refused too.
    expect((await h.json('POST', '/v1/auth/logout', {}, mine.auth)).status).toBe(204);
    expect((await h.json('POST', '/v1/auth/password/change', body, mine.auth)).status).toBe(401);
    expect((await h.login(user.email, user.password)).status).toBe(200);
  });
});

describe('password reset', () => {
  it('emails a password_reset code; confirming it sets the password and ends every session and refresh family', async () => {
    const user = await h.createUser({ mfa: false });
    const first = await signIn(user);
    const second = await signIn(user, randomIp());
    const rotated = await refresh(second.refreshToken);
    expect(rotated.status).toBe(200);

    const requested = await requestReset(user.email.toUpperCase());
    expect(requested.status).toBe(202);
    expect(requested.body).toEqual({ expires_at: expect.any(String) });
    const code = await h.latestCode(user.email, 'password_reset');
    const next = strongPassword();
    const done = await confirmReset(user.email, code, next);
    expect(done.status).toBe(204);

    // Every access token (each carries its session's sid) and every refresh token is dead.
    for (const token of [first.accessToken, second.accessToken, rotated.body.access_token as string])
      expect((await me(token)).status).toBe(401);
    for (const token of [first.refreshToken, rotated.body.refresh_token as string]) {
      const res = await refresh(token);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
    }
    expect((await h.login(user.email, user.password)).status).toBe(401);
    expect((await h.login(user.email, next)).status).toBe(200);
    expect((await outbox(user.email)).map(([purpose]) => purpose)).toEqual([
      'password_changed',
      'password_reset',
    ]);
    expect(await listAuthEvents(h.db, { subject: user.id, event: 'password_reset' })).toMatchObject([
      { outcome: 'success' },
    ]);
    const audit = JSON.stringify((await listAuthEvents(h.db, { subject: user.id })).map((e) => e.details));
    expect(audit).not.toContain(code);
    expect(audit).not.toContain(next);
  });

  it('attack: a reset code works once', async () => {
    const user = await h.createUser();
    await requestReset(user.email);
    const code = await h.latestCode(user.email, 'password_reset');
    const next = strongPassword();
    expect((await confirmReset(user.email, code, next)).status).toBe(204);
    const again = await confirmReset(user.email, code, strongPassword());
    expect(again.status).toBe(422);
    expect(again.body.code).toBe('otp_expired');
    expect((await h.login(user.email, next)).status).toBe(200);
  });

  it('attack: an expired code is refused and changes nothing', async () => {
    const user = await h.createUser();
    await requestReset(user.email);
    const code = await h.latestCode(user.email, 'password_reset');
    // What the 300 s TTL does: every key of the challenge is gone.
    const current = redisKeys.otpCurrent('password_reset', user.id, 'password_reset');
    const challengeId = await h.redis.get(current);
    expect(challengeId).toBeTruthy();
    await h.redis.del([
      current,
      redisKeys.otp('password_reset', user.id, challengeId!),
      redisKeys.otpChallenge(challengeId!),
    ]);
    const res = await confirmReset(user.email, code, strongPassword());
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('otp_expired');
    expect((await h.login(user.email, user.password)).status).toBe(200);
  });

  it('attack: a code sent for another purpose (login, email verification) does not reset the password', async () => {
    const user = await h.createUser({ mfa: true });
    // Without a reset request there is nothing to answer: the login code is refused.
    expect((await h.login(user.email, user.password)).body.mfa_required).toBe(true);
    const loginCode = await h.latestCode(user.email, 'login');
    const none = await confirmReset(user.email, loginCode, strongPassword());
    expect(none.body.code).toBe('otp_expired');

    // With a reset pending, a code of another purpose is a wrong code for this one.
    await requestReset(user.email);
    const resetCode = await h.latestCode(user.email, 'password_reset');
    expect(
      (await h.json('POST', '/v1/auth/otp/send', { email: user.email, purpose: 'verify_email' })).status,
    ).toBe(202);
    const emailCode = await h.latestCode(user.email, 'verify_email');
    for (const code of [loginCode, emailCode].filter((c) => c !== resetCode)) {
      const res = await confirmReset(user.email, code, strongPassword());
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('otp_invalid');
    }
    // And a reset code cannot be consumed anywhere else: the internal verify refuses the purpose.
    const service = await h.serviceToken();
    const challengeId = await h.redis.get(redisKeys.otpCurrent('password_reset', user.id, 'password_reset'));
    const elsewhere = await h.json(
      'POST',
      '/internal/otp/verify',
      { challenge_id: challengeId, user_id: user.id, purpose: 'password_reset', code: resetCode },
      bearer(service),
    );
    expect(elsewhere.status).toBe(400);
    const unchanged = await findUserById(h.db, user.id);
    expect(await argon2.verify(unchanged!.password_hash, user.password)).toBe(true);
    // The reset code itself still works.
    expect((await confirmReset(user.email, resetCode, strongPassword())).status).toBe(204);
  });

  it('attack: an unknown email gets the same answers as a known one, and nothing is sent', async () => {
    const user = await h.createUser();
    const ghost = uniqueEmail('ghost');
    const known = await requestReset(user.email);
    const unknown = await requestReset(ghost);
    expect(unknown.status).toBe(known.status);
    expect(Object.keys(unknown.body)).toEqual(Object.keys(known.body));
    const headerNames = (r: typeof known) => [...r.headers.keys()].filter((k) => k !== 'x-request-id').sort();
    expect(headerNames(unknown)).toEqual(headerNames(known));
    expect(await outbox(ghost)).toEqual([]);

    // Wrong codes: the same countdown, then the same exhaustion, for both.
    const code = await h.latestCode(user.email, 'password_reset');
    let guess = code;
    for (let left = OTP_MAX_ATTEMPTS - 1; left >= 1; left--) {
      guess = wrongCode(guess);
      const a = await confirmReset(user.email, guess, strongPassword());
      const b = await confirmReset(ghost, guess, strongPassword());
      expect(a.body).toMatchObject({ code: 'otp_invalid', attempts_left: left });
      expect(b.body).toEqual(a.body);
    }
    const a = await confirmReset(user.email, wrongCode(guess), strongPassword());
    const b = await confirmReset(ghost, wrongCode(guess), strongPassword());
    expect(a.body.code).toBe('otp_exhausted');
    expect(b.body).toEqual(a.body);
    // Exhausted means exhausted: the right code is refused as well.
    expect((await confirmReset(user.email, code, strongPassword())).body.code).toBe('otp_exhausted');
    expect((await h.login(user.email, user.password)).status).toBe(200);

    // Repeated requests meet the same cooldown, known or not.
    const knownAgain = await requestReset(user.email);
    const unknownAgain = await requestReset(ghost);
    expect(knownAgain.status).toBe(429);
    expect(knownAgain.body.code).toBe('otp_cooldown');
    expect(unknownAgain.body).toEqual(knownAgain.body);
    expect(Number(unknownAgain.headers.get('retry-after'))).toBeGreaterThan(0);

    const requests = await listAuthEvents(h.db, { event: 'password_reset_requested', limit: 500 });
    expect(requests.some((e) => e.subject === user.id && e.outcome === 'success')).toBe(true);
  });

  it('a disabled account gets the decoy path (nothing sent, nothing reset)', async () => {
    const user = await h.createUser();
    await setUserStatus(h.db, user.id, 'disabled', { disabled_reason: 'test' });
    expect((await requestReset(user.email)).status).toBe(202);
    expect(await outbox(user.email)).toEqual([]);
    const res = await confirmReset(user.email, '123456', strongPassword());
    expect(res.body).toMatchObject({ code: 'otp_invalid' });
  });

  it('a completed reset clears the account lockout on every address', async () => {
    const user = await h.createUser();
    const [ipA, ipB] = [randomIp(), randomIp()];
    for (const ip of [ipA, ipB])
      for (let i = 0; i < 10; i++)
        expect((await h.login(user.email, `guess-${i}-pw`, { 'x-forwarded-for': ip })).status).toBe(401);
    expect((await h.login(user.email, user.password, { 'x-forwarded-for': ipA })).status).toBe(429);
    expect((await h.login(user.email, user.password, { 'x-forwarded-for': ipB })).status).toBe(429);

    await requestReset(user.email);
    const next = strongPassword();
    const weak = await confirmReset(
      user.email,
      await h.latestCode(user.email, 'password_reset'),
      'password123',
    );
    expect(weak.body).toMatchObject({ code: 'weak_password', reason: 'common' });
    // A weak choice did not spend the code.
    const done = await confirmReset(user.email, await h.latestCode(user.email, 'password_reset'), next);
    expect(done.status).toBe(204);
    expect((await h.login(user.email, next, { 'x-forwarded-for': ipA })).status).toBe(200);
    expect((await h.login(user.email, next, { 'x-forwarded-for': ipB })).status).toBe(200);
  });
});

describe('sign-ins from before a reset', () => {
  const client = { id: 'password-test-spa', redirect: 'https://spa.example/cb' };
  const verifier = 'v'.repeat(43);
  const challenge = createHash('sha256').update(verifier, 'ascii').digest('base64url');

  /** An authorization code as the sign-in page issues it after a correct password at `authTime`. */
  async function codeFor(userId: string, authTime: number) {
    return createAuthorizationCodeStore(h.redis).issueCode({
      client_id: client.id,
      redirect_uri: client.redirect,
      scope: 'openid wallet:read',
      state: null,
      nonce: null,
      code_challenge: challenge,
      user_id: userId,
      auth_time: authTime,
    });
  }
  const redeem = (code: string) =>
    h.form('/v1/auth/token', {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: client.redirect,
      client_id: client.id,
    });

  it('attack: an authorization code issued before a reset does not open a session after it', async () => {
    await upsertClient(h.db, {
      client_id: client.id,
      name: 'Password test SPA',
      secret_hash: null,
      grant_types: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'wallet:read'],
      redirect_uris: [client.redirect],
    });
    const user = await h.createUser();
    const now = Math.floor(Date.now() / 1000);
    // Before any reset, such a code works (the control).
    expect((await redeem(await codeFor(user.id, now))).status).toBe(200);

    const before = await codeFor(user.id, now);
    await requestReset(user.email);
    expect(
      (await confirmReset(user.email, await h.latestCode(user.email, 'password_reset'), strongPassword()))
        .status,
    ).toBe(204);
    const refused = await redeem(before);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
    // A sign-in after the reset is not affected.
    expect((await redeem(await codeFor(user.id, Math.floor(Date.now() / 1000) + 1))).status).toBe(200);
  });
});

describe('a login racing a reset', () => {
  it('attack: a login whose password check began before a reset recorded its change opens no session', async () => {
    const user = await h.createUser();
    // What a reset records before it revokes, as if it began while this login checked the password.
    await h.redis.set(redisKeys.passwordChanged(user.id), String(Date.now() + 60_000), { EX: 60 });
    const raced = await h.login(user.email, user.password);
    expect(raced.status).toBe(401);
    expect(raced.body.code).toBe('invalid_credentials');
    const families = await h.db
      .selectFrom('refresh_tokens')
      .select(['family_id', 'revoked_at'])
      .where('user_id', '=', user.id)
      .execute();
    expect(families).toHaveLength(1);
    expect(families[0]!.revoked_at).not.toBeNull();
    // A login that begins after the change is not affected.
    await h.redis.set(redisKeys.passwordChanged(user.id), String(Date.now() - 1), { EX: 60 });
    expect((await h.login(user.email, user.password)).status).toBe(200);
  });
});

describe('revocation races (lock order: the user row, then the refresh tokens)', () => {
  /** Waits until some other backend is blocked by the backend `pid` (a lock it holds). */
  async function untilSomeoneWaitsFor(pid: number) {
    for (;;) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid))`.execute(
        h.db,
      );
      if (rows[0]!.n > 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Resolves once `request` is blocked by backend `pid`; fails if it finished without waiting. */
  const waitsFor = (pid: number, request: Promise<unknown>) =>
    Promise.race([
      untilSomeoneWaitsFor(pid),
      request.then(() => {
        throw new Error('the request finished without waiting for the lock');
      }),
    ]);

  const backendPid = async (trx: typeof h.db) =>
    (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid;

  it('a reset revokes the successor token of a refresh that held the user row when the reset started', async () => {
    const user = await h.createUser();
    const session = await signIn(user);
    const family = (await h.services.tokens.inspectRefreshToken(session.refreshToken))!.family_id;
    await requestReset(user.email);
    const code = await h.latestCode(user.email, 'password_reset');
    const successor = `successor-${user.id}`;
    let reset: ReturnType<typeof confirmReset> | undefined;
    await h.db.transaction().execute(async (trx) => {
      // What a refresh does first: share-lock the owner ...
      await trx.selectFrom('users').select('id').where('id', '=', user.id).forShare().execute();
      reset = confirmReset(user.email, code, strongPassword());
      await waitsFor(await backendPid(trx), reset);
      // ... then insert the successor of the token it consumed, and commit.
      await trx
        .insertInto('refresh_tokens')
        .values({
          family_id: family,
          token_hash: hashOpaqueToken(successor),
          user_id: user.id,
          client_id: 'velora-app',
          scope: 'openid',
          expires_at: new Date(Date.now() + 3_600_000),
        })
        .execute();
    });
    expect((await reset!).status).toBe(204);
    const row = await h.services.tokens.inspectRefreshToken(successor);
    expect(row?.revoked_at).not.toBeNull();
  });

  it('a refresh that arrives while a reset holds the user row finds its token revoked', async () => {
    const user = await h.createUser();
    const session = await signIn(user);
    let refreshing: ReturnType<typeof refresh> | undefined;
    await h.db.transaction().execute(async (trx) => {
      // What a reset does: update the user row, revoke the families, commit.
      await trx.updateTable('users').set({ updated_at: new Date() }).where('id', '=', user.id).execute();
      refreshing = refresh(session.refreshToken);
      await waitsFor(await backendPid(trx), refreshing);
      await trx
        .updateTable('refresh_tokens')
        .set({ revoked_at: new Date(), revoked_reason: 'password_reset' })
        .where('user_id', '=', user.id)
        .execute();
    });
    const res = await refreshing!;
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });
});
