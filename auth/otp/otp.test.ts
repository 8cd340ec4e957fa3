import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuthEvents } from '../audit/audit.repository.js';
import { createHarness, memoryLogger, randomIp, type Harness } from '../testing/harness.js';
import { createLogNotifier, type Notifier } from './notifier.js';
import { OTP_MAX_ATTEMPTS } from './otp.service.js';

let h: Harness;
let service: string;
beforeAll(async () => {
  h = await createHarness();
  service = await h.serviceToken();
});
afterAll(async () => {
  await h.close();
});

const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

async function sendStepUp(userId: string, reference = randomUUID()) {
  return h.json(
    'POST',
    '/internal/otp/send',
    { user_id: userId, purpose: 'step_up', reference },
    { authorization: `Bearer ${service}`, 'idempotency-key': `send-${reference}` },
  );
}

async function verifyStepUp(body: { challenge_id: string; user_id: string; code: string; purpose?: string }) {
  return h.json(
    'POST',
    '/internal/otp/verify',
    { purpose: 'step_up', ...body },
    { authorization: `Bearer ${service}` },
  );
}

describe('OTP codes', () => {
  it('are 6 digits, stored only as an HMAC under a key bound to purpose, subject and challenge, with a 300 s TTL', async () => {
    const user = await h.createUser();
    const sent = await sendStepUp(user.id);
    expect(sent.status).toBe(201);
    const challengeId = sent.body.challenge_id as string;
    const code = await h.latestCode(user.email, 'step_up');
    expect(code).toMatch(/^[0-9]{6}$/);
    const key = `auth:otp:step_up:${user.id}:${challengeId}`;
    const stored = await h.redis.hGetAll(key);
    expect(Object.values(stored).join(' ')).not.toContain(code);
    expect(stored.mac).toMatch(/^[0-9a-f]{64}$/);
    const ttl = await h.redis.ttl(key);
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);
    const ok = await verifyStepUp({ challenge_id: challengeId, user_id: user.id, code });
    expect(ok.body).toEqual({ valid: true });
  });

  it('are single use', async () => {
    const user = await h.createUser();
    const sent = await sendStepUp(user.id);
    const code = await h.latestCode(user.email, 'step_up');
    expect(
      (await verifyStepUp({ challenge_id: sent.body.challenge_id, user_id: user.id, code })).status,
    ).toBe(200);
    const again = await h.json(
      'POST',
      '/internal/otp/verify',
      { challenge_id: sent.body.challenge_id, user_id: user.id, purpose: 'step_up', code },
      { authorization: `Bearer ${service}`, 'idempotency-key': 'another-attempt' },
    );
    expect(again.status).toBe(422);
    expect(again.body.code).toBe('otp_expired');
  });

  it('resist brute force: 5 wrong attempts kill the code, even for the right code afterwards', async () => {
    const user = await h.createUser();
    const sent = await sendStepUp(user.id);
    const code = await h.latestCode(user.email, 'step_up');
    let guess = code;
    for (let i = 1; i < OTP_MAX_ATTEMPTS; i++) {
      guess = wrongCode(guess);
      const res = await verifyStepUp({ challenge_id: sent.body.challenge_id, user_id: user.id, code: guess });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'otp_invalid', attempts_left: OTP_MAX_ATTEMPTS - i });
    }
    const last = await verifyStepUp({
      challenge_id: sent.body.challenge_id,
      user_id: user.id,
      code: wrongCode(guess),
    });
    expect(last.body.code).toBe('otp_exhausted');
    const right = await verifyStepUp({ challenge_id: sent.body.challenge_id, user_id: user.id, code });
    expect(right.status).toBe(422);
    expect(right.body.code).toBe('otp_exhausted');
  });

  it('are bound: wrong purpose, wrong challenge or wrong user never verifies', async () => {
    const user = await h.createUser();
    const other = await h.createUser();
    const sent = await sendStepUp(user.id);
    const code = await h.latestCode(user.email, 'step_up');
    const wrongPurpose = await verifyStepUp({
      challenge_id: sent.body.challenge_id,
      user_id: user.id,
      code,
      purpose: 'login',
    });
    expect(wrongPurpose.status).toBe(422);
    const wrongChallenge = await verifyStepUp({ challenge_id: randomUUID(), user_id: user.id, code });
    expect(wrongChallenge.status).toBe(422);
    const wrongUser = await verifyStepUp({ challenge_id: sent.body.challenge_id, user_id: other.id, code });
    expect(wrongUser.status).toBe(422);
    // A step-up code cannot be spent at the public endpoint (login or email verification).
    const publicVerify = await h.json('POST', '/v1/auth/otp/verify', {
      challenge_id: sent.body.challenge_id,
      code,
    });
    expect(publicVerify.status).toBe(422);
    expect(publicVerify.body.access_token).toBeUndefined();
    // None of that used up the code.
    expect(
      (await verifyStepUp({ challenge_id: sent.body.challenge_id, user_id: user.id, code })).status,
    ).toBe(200);
  });

  it('two concurrent correct submissions: exactly one succeeds', async () => {
    const user = await h.createUser();
    const sent = await sendStepUp(user.id);
    const code = await h.latestCode(user.email, 'step_up');
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        h.services.otp.verify({
          purpose: 'step_up',
          subject: user.id,
          challengeId: sent.body.challenge_id as string,
          code,
        }),
      ),
    );
    expect(results.filter((r) => 'ok' in r)).toHaveLength(1);
  });

  it('enforce a 60 s resend cooldown per reference (429 + Retry-After) and at most 10 per hour', async () => {
    const user = await h.createUser();
    const reference = randomUUID();
    expect((await sendStepUp(user.id, reference)).status).toBe(201);
    const again = await h.json(
      'POST',
      '/internal/otp/send',
      { user_id: user.id, purpose: 'step_up', reference },
      { authorization: `Bearer ${service}`, 'idempotency-key': `other-${reference}` },
    );
    expect(again.status).toBe(429);
    expect(again.body.code).toBe('otp_cooldown');
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    for (let i = 0; i < 9; i++) expect((await sendStepUp(user.id)).status).toBe(201);
    const eleventh = await sendStepUp(user.id);
    expect(eleventh.status).toBe(429);
  });

  it('the same Idempotency-Key on send replays the same challenge', async () => {
    const user = await h.createUser();
    const reference = randomUUID();
    const a = await sendStepUp(user.id, reference);
    const b = await sendStepUp(user.id, reference);
    expect(b.status).toBe(201);
    expect(b.body.challenge_id).toBe(a.body.challenge_id);
  });

  it('unknown users get user_not_found on send', async () => {
    const res = await sendStepUp(randomUUID());
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('user_not_found');
  });
});

describe('OTP as a second factor at login', () => {
  it('login answers mfa_required + challenge_id, and the code completes the login', async () => {
    const user = await h.createUser({ mfa: true });
    const first = await h.login(user.email, user.password);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ mfa_required: true, challenge_id: expect.any(String) });
    const code = await h.latestCode(user.email, 'login');
    const bad = await h.json('POST', '/v1/auth/otp/verify', {
      challenge_id: first.body.challenge_id,
      code: wrongCode(code),
    });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ code: 'otp_invalid', attempts_left: 4 });
    const done = await h.json('POST', '/v1/auth/otp/verify', { challenge_id: first.body.challenge_id, code });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ token_type: 'Bearer' });
    expect(
      (await h.json('GET', '/v1/auth/me', undefined, { authorization: `Bearer ${done.body.access_token}` }))
        .body.mfa_enabled,
    ).toBe(true);
    const reuse = await h.json('POST', '/v1/auth/otp/verify', {
      challenge_id: first.body.challenge_id,
      code,
    });
    expect(reuse.status).toBe(422);
  });

  it('a user can turn MFA on after re-entering the password', async () => {
    const user = await h.createUser();
    const session = await h.login(user.email, user.password);
    const auth = { authorization: `Bearer ${session.body.access_token}` };
    expect(
      (await h.json('POST', '/v1/auth/mfa', { enabled: true, password: 'wrong-password-1' }, auth)).status,
    ).toBe(401);
    expect(
      (await h.json('POST', '/v1/auth/mfa', { enabled: true, password: user.password }, auth)).body,
    ).toEqual({ mfa_enabled: true });
    expect((await h.login(user.email, user.password)).body.mfa_required).toBe(true);
  });
});

describe('changing MFA', () => {
  it('guessing the password on /v1/auth/mfa runs into the login lockout', async () => {
    const user = await h.createUser();
    const ip = randomIp();
    const session = await h.login(user.email, user.password, { 'x-forwarded-for': ip });
    const auth = { authorization: `Bearer ${session.body.access_token}`, 'x-forwarded-for': ip };
    for (let i = 0; i < 10; i++) {
      const res = await h.json('POST', '/v1/auth/mfa', { enabled: false, password: `guess-${i}-pw` }, auth);
      expect(res.status).toBe(401);
    }
    const locked = await h.json('POST', '/v1/auth/mfa', { enabled: true, password: user.password }, auth);
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('account_locked');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(29 * 60);
    expect((await h.json('GET', '/v1/auth/me', undefined, auth)).body.mfa_enabled).toBe(false);
    // The same counters as a login: the password cannot be tried there instead.
    expect((await h.login(user.email, user.password, { 'x-forwarded-for': ip })).status).toBe(429);
    expect(await listAuthEvents(h.db, { subject: user.id, event: 'lockout' })).toHaveLength(1);
  });

  it('tells the user when MFA is turned on and off', async () => {
    const user = await h.createUser();
    const session = await h.login(user.email, user.password);
    const auth = { authorization: `Bearer ${session.body.access_token}` };
    const outbox = async () =>
      (
        (await h.json('GET', `/dev/outbox?recipient=${encodeURIComponent(user.email)}`)).body.items as {
          purpose: string;
          code: string | null;
        }[]
      ).map((i) => [i.purpose, i.code]);
    expect(
      (await h.json('POST', '/v1/auth/mfa', { enabled: true, password: user.password }, auth)).status,
    ).toBe(200);
    expect(await outbox()).toEqual([['mfa_enabled', null]]);
    expect(
      (await h.json('POST', '/v1/auth/mfa', { enabled: false, password: user.password }, auth)).status,
    ).toBe(200);
    expect(await outbox()).toEqual([
      ['mfa_disabled', null],
      ['mfa_enabled', null],
    ]);
  });
});

describe('OTP guess budget across resends', () => {
  // Stands in for the 60 s resend cooldown having passed (the test does not wait a minute).
  const cooldownPassed = (userId: string) => h.redis.del(`auth:otp-cooldown:login:${userId}:login`);

  it('10 resends with wrong guesses get no more than one budget, and then not even the right code', async () => {
    // The attacker knows the password, not the second factor, and asks for code after code.
    const user = await h.createUser({ mfa: true });
    let checked = 0;
    let challenge = '';
    for (let send = 0; send < 10; send++) {
      await cooldownPassed(user.id);
      const login = await h.login(user.email, user.password);
      expect(login.body.mfa_required).toBe(true);
      challenge = login.body.challenge_id as string;
      if (send === 9) break; // the last code is kept for the right-code check below
      const code = await h.latestCode(user.email, 'login');
      for (let guess = 0; guess < OTP_MAX_ATTEMPTS; guess++) {
        const res = await h.json('POST', '/v1/auth/otp/verify', {
          challenge_id: challenge,
          code: wrongCode(code),
        });
        expect(res.status).toBe(422);
        if (res.body.code !== 'otp_invalid') break;
        checked += 1;
      }
    }
    // One budget in all: 4 answers with attempts left, the 5th wrong code ends it.
    expect(checked).toBe(OTP_MAX_ATTEMPTS - 1);
    const right = await h.json('POST', '/v1/auth/otp/verify', {
      challenge_id: challenge,
      code: await h.latestCode(user.email, 'login'),
    });
    expect(right.status).toBe(422);
    expect(right.body.code).toBe('otp_exhausted');
    expect(right.body.access_token).toBeUndefined();
  });

  it('a resend revokes the previous code; the new one works and a success clears the budget', async () => {
    const user = await h.createUser({ mfa: true });
    const first = await h.login(user.email, user.password);
    const oldCode = await h.latestCode(user.email, 'login');
    const wrong = await h.json('POST', '/v1/auth/otp/verify', {
      challenge_id: first.body.challenge_id,
      code: wrongCode(oldCode),
    });
    expect(wrong.body).toMatchObject({ code: 'otp_invalid', attempts_left: OTP_MAX_ATTEMPTS - 1 });
    await cooldownPassed(user.id);
    const second = await h.login(user.email, user.password);
    const newCode = await h.latestCode(user.email, 'login');
    const old = await h.json('POST', '/v1/auth/otp/verify', {
      challenge_id: first.body.challenge_id,
      code: oldCode,
    });
    expect(old.status).toBe(422);
    expect(old.body.code).toBe('otp_expired');
    // The new challenge starts with what is left of the budget, not with fresh attempts.
    const wrongAgain = await h.json('POST', '/v1/auth/otp/verify', {
      challenge_id: second.body.challenge_id,
      code: wrongCode(newCode),
    });
    expect(wrongAgain.body).toMatchObject({ code: 'otp_invalid', attempts_left: OTP_MAX_ATTEMPTS - 2 });
    const done = await h.json('POST', '/v1/auth/otp/verify', {
      challenge_id: second.body.challenge_id,
      code: newCode,
    });
    expect(done.status).toBe(200);
    expect(await h.redis.exists(`auth:otp-failures:login:${user.id}`)).toBe(0);
  });
});

describe('delivery', () => {
  it('the dev outbox lists messages newest first', async () => {
    const user = await h.createUser();
    await sendStepUp(user.id);
    await sendStepUp(user.id);
    const res = await h.json('GET', `/dev/outbox?recipient=${encodeURIComponent(user.email)}`);
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(2);
    expect(res.body.items[0]).toEqual({
      recipient: user.email,
      purpose: 'step_up',
      code: expect.stringMatching(/^[0-9]{6}$/),
      sent_at: expect.any(String),
    });
    expect(res.body.items[0].sent_at >= res.body.items[1].sent_at).toBe(true);
  });

  it('outside dev mode the outbox is 404 and codes never reach the logs', async () => {
    const { log, lines } = memoryLogger();
    const delivered: string[] = [];
    const stub = createLogNotifier(log);
    // The log-mode notifier, wrapped to learn which code it was handed (the test needs the value to search for).
    const notifier: Notifier = {
      async send(message) {
        if (message.code) delivered.push(message.code);
        await stub.send(message);
      },
    };
    const logMode = await createHarness({
      overrides: { OTP_DELIVERY: 'log', LOG_LEVEL: 'debug' },
      log,
      notifier,
    });
    try {
      expect((await logMode.json('GET', '/dev/outbox?recipient=a@b.c')).status).toBe(404);
      const user = await logMode.createUser({ mfa: true });
      const login = await logMode.login(user.email, user.password);
      expect(login.body.mfa_required).toBe(true);
      const bad = await logMode.json('POST', '/v1/auth/otp/verify', {
        challenge_id: login.body.challenge_id,
        code: wrongCode(delivered[0]!),
      });
      expect(bad.status).toBe(422);
      const good = await logMode.json('POST', '/v1/auth/otp/verify', {
        challenge_id: login.body.challenge_id,
        code: delivered[0],
      });
      expect(good.status).toBe(200);
      const text = lines.join('\n');
      expect(delivered).toHaveLength(1);
      expect(text).toContain('message delivered (stub)');
      expect(text).not.toContain(delivered[0]);
      expect(text).not.toContain(user.password);
    } finally {
      await logMode.close();
    }
  });
});

describe('email verification through the internal API', () => {
  it('a verify_email code checked at /internal/otp/verify moves the user to the verified tier', async () => {
    const user = await h.createUser();
    const auth = { authorization: `Bearer ${service}` };
    const sent = await h.json(
      'POST',
      '/internal/otp/send',
      { user_id: user.id, purpose: 'verify_email', reference: 'signup' },
      { ...auth, 'idempotency-key': `ve-${user.id}` },
    );
    expect(sent.status).toBe(201);
    const code = await h.latestCode(user.email, 'verify_email');
    const ok = await h.json(
      'POST',
      '/internal/otp/verify',
      { challenge_id: sent.body.challenge_id, user_id: user.id, purpose: 'verify_email', code },
      auth,
    );
    expect(ok.body).toEqual({ valid: true });
    expect((await h.json('GET', `/internal/users/${user.id}`, undefined, auth)).body.tier).toBe('verified');
  });
});
