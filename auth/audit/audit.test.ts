import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, randomIp, strongPassword, uniqueEmail, type Harness } from '../testing/harness.js';
import { listAuthEvents } from './audit.repository.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe('audit trail', () => {
  it('records every authentication event of a user with time, subject, client, IP and outcome, and no secret', async () => {
    const service = { authorization: `Bearer ${await h.serviceToken()}` };
    const email = uniqueEmail('audited');
    const password = strongPassword();
    const ip = randomIp();
    const headers = { 'x-forwarded-for': ip, 'user-agent': 'audit-test/1.0' };
    const secrets: string[] = [password];

    const reg = await h.json(
      'POST',
      '/internal/registrations',
      { email, password },
      { ...service, 'idempotency-key': `reg-${email}` },
    );
    const created = await h.json(
      'POST',
      '/internal/users',
      { registration_id: reg.body.registration_id },
      { ...service, 'idempotency-key': `user-${email}` },
    );
    const userId = created.body.user_id as string;
    await h.json('POST', `/internal/users/${userId}/activate`, undefined, {
      ...service,
      'idempotency-key': `act-${email}`,
    });

    expect((await h.login(email, 'wrong-password-xyz', headers)).status).toBe(401);
    const session = await h.login(email, password, headers);
    secrets.push(session.body.access_token, session.body.refresh_token);

    const sent = await h.json(
      'POST',
      '/internal/otp/send',
      { user_id: userId, purpose: 'step_up', reference: 'transfer-1' },
      { ...service, 'idempotency-key': `otp-${email}` },
    );
    const code = await h.latestCode(email, 'step_up');
    secrets.push(code);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await h.json(
      'POST',
      '/internal/otp/verify',
      { challenge_id: sent.body.challenge_id, user_id: userId, purpose: 'step_up', code: wrong },
      service,
    );
    await h.json(
      'POST',
      '/internal/otp/verify',
      { challenge_id: sent.body.challenge_id, user_id: userId, purpose: 'step_up', code },
      service,
    );

    const refreshed = await h.form(
      '/v1/auth/token',
      { grant_type: 'refresh_token', refresh_token: session.body.refresh_token },
      headers,
    );
    secrets.push(refreshed.body.access_token, refreshed.body.refresh_token);
    await h.form(
      '/v1/auth/token',
      { grant_type: 'refresh_token', refresh_token: session.body.refresh_token },
      headers,
    ); // reuse
    const again = await h.login(email, password, headers);
    secrets.push(again.body.access_token, again.body.refresh_token);
    await h.json(
      'POST',
      '/v1/auth/logout',
      { refresh_token: again.body.refresh_token },
      { ...headers, authorization: `Bearer ${again.body.access_token}` },
    );

    const events = await listAuthEvents(h.db, { subject: userId, limit: 100 });
    const kinds = new Set(events.map((e) => `${e.event}:${e.outcome}`));
    for (const expected of [
      'user_created:success',
      'user_activated:success',
      'login:failure',
      'login:success',
      'otp_sent:success',
      'otp_failed:failure',
      'otp_verified:success',
      'refresh:success',
      'refresh_reuse_detected:failure',
      'logout:success',
    ]) {
      expect(kinds, expected).toContain(expected);
    }
    const login = events.find((e) => e.event === 'login' && e.outcome === 'success')!;
    expect(login).toMatchObject({
      subject: userId,
      client_id: 'velora-app',
      ip,
      user_agent: 'audit-test/1.0',
    });
    expect(login.occurred_at).toBeInstanceOf(Date);
    const registered = await h.db
      .selectFrom('auth_events')
      .selectAll()
      .where('event', '=', 'register')
      .where('details', '@>', { registration_id: reg.body.registration_id })
      .execute();
    expect(registered).toHaveLength(1);

    const everything = JSON.stringify([...events, ...registered], (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v,
    );
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });

  it('records lockouts with the address that caused them', async () => {
    const user = await h.createUser();
    const ip = randomIp();
    for (let i = 0; i < 10; i++) await h.login(user.email, `not-it-${i}-password`, { 'x-forwarded-for': ip });
    const lockouts = await listAuthEvents(h.db, { subject: user.id, event: 'lockout' });
    expect(lockouts).toHaveLength(1);
    expect(lockouts[0]!.ip).toBe(ip);
  });
});
