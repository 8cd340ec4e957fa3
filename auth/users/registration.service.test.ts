import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuthEvents } from '../audit/audit.repository.js';
import { createHarness, strongPassword, uniqueEmail, type Harness } from '../testing/harness.js';
import { verifyPassword } from './password-hasher.js';
import { STALE_PENDING_USER_SECONDS } from './registration.service.js';
import { activatePendingUser, findUserByEmail, findUserById, setUserStatus } from './users.repository.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const context = { ip: '10.0.0.1', userAgent: 'registration-test' };

/** Parks a registration and runs createUser once, as the onboarding workflow does. */
async function signUp(email: string, password = strongPassword()) {
  const parked = await h.services.registrations.park({ email, password }, context);
  if ('error' in parked) throw new Error(`park refused: ${parked.reason}`);
  const created = await h.services.registrations.createUser(parked.registrationId, context);
  if (typeof created === 'string') throw new Error(`createUser refused: ${created}`);
  return { registrationId: parked.registrationId, password, created };
}

/** Moves the row's last change back by `seconds`, as if its onboarding had stopped that long ago. */
async function age(email: string, seconds: number) {
  await sql`update users set updated_at = now() - make_interval(secs => ${seconds}) where email = ${email}`.execute(
    h.db,
  );
}

async function purposes(email: string) {
  return ((await h.services.devOutbox?.(email)) ?? []).map((item) => item.purpose);
}

describe('a sign-up left pending', () => {
  it('is taken over by a new registration once older than the bound: same id, new password, audited, nobody told', async () => {
    const email = uniqueEmail('stale');
    const first = await signUp(email);
    expect(first.created.existing).toBe(false);
    // The onboarding was terminated here: the user stays pending.
    await age(email, STALE_PENDING_USER_SECONDS + 60);

    const second = await signUp(email);
    expect(second.created).toEqual({
      userId: first.created.userId,
      email,
      status: 'pending',
      existing: false,
    });
    const row = await findUserByEmail(h.db, email);
    expect(row?.status).toBe('pending');
    expect(await verifyPassword(row!.password_hash, second.password)).toBe(true);
    expect(Date.now() - row!.updated_at.getTime()).toBeLessThan(60_000);

    await activatePendingUser(h.db, first.created.userId);
    expect((await h.login(email, second.password)).status).toBe(200);
    expect((await h.login(email, first.password)).status).toBe(401);

    const audit = await listAuthEvents(h.db, { subject: first.created.userId, event: 'user_created' });
    expect(audit.map((e) => [e.outcome, e.details])).toEqual([
      ['success', { registration_id: second.registrationId, reason: 'stale_pending_reclaimed' }],
      ['success', { registration_id: first.registrationId }],
    ]);
    expect(await purposes(email)).not.toContain('account_exists');
  });

  it('is left alone while younger than the bound: the new sign-up answers existing, as before', async () => {
    const email = uniqueEmail('fresh');
    const first = await signUp(email);
    await age(email, STALE_PENDING_USER_SECONDS - 600);
    const before = await findUserByEmail(h.db, email);

    const second = await signUp(email);
    expect(second.created.existing).toBe(true);
    expect(second.created.userId).not.toBe(first.created.userId);
    expect(await findUserByEmail(h.db, email)).toEqual(before);
    expect(await purposes(email)).toContain('account_exists');
  });

  it('never takes over an active or a disabled user, however old', async () => {
    const active = await h.createUser();
    const disabled = await h.createUser();
    await setUserStatus(h.db, disabled.id, 'disabled', { disabled_reason: 'test' });
    for (const user of [active, disabled]) {
      await age(user.email, 30 * STALE_PENDING_USER_SECONDS);
      const before = await findUserById(h.db, user.id);
      const again = await signUp(user.email);
      expect(again.created.existing).toBe(true);
      expect(again.created.userId).not.toBe(user.id);
      expect(await findUserById(h.db, user.id)).toEqual(before);
    }
    expect((await h.login(active.email, active.password)).status).toBe(200);
  });

  it('goes to exactly one of two registrations racing for it', async () => {
    const email = uniqueEmail('race');
    const first = await signUp(email);
    await age(email, STALE_PENDING_USER_SECONDS + 60);
    const parked = await Promise.all(
      [strongPassword(), strongPassword()].map((password) =>
        h.services.registrations.park({ email, password }, context),
      ),
    );
    const answers = await Promise.all(
      parked.map(async (p) => {
        if ('error' in p) throw new Error('park refused');
        const created = await h.services.registrations.createUser(p.registrationId, context);
        if (typeof created === 'string') throw new Error(`createUser refused: ${created}`);
        return created;
      }),
    );
    const winners = answers.filter((a) => !a.existing);
    expect(winners.map((a) => a.userId)).toEqual([first.created.userId]);
    expect(answers.filter((a) => a.existing)).toHaveLength(1);
  });

  it('answers a retried createUser of the taking registration the same, without taking it again', async () => {
    const email = uniqueEmail('retry');
    const first = await signUp(email);
    await age(email, STALE_PENDING_USER_SECONDS + 60);
    const second = await signUp(email);
    expect(second.created.existing).toBe(false);
    await age(email, STALE_PENDING_USER_SECONDS + 60);
    const before = await findUserByEmail(h.db, email);

    const retried = await h.services.registrations.createUser(second.registrationId, context);
    expect(retried).toEqual(second.created);
    expect(retried).toMatchObject({ userId: first.created.userId });
    expect(await findUserByEmail(h.db, email)).toEqual(before);
    const audit = await listAuthEvents(h.db, { subject: first.created.userId, event: 'user_created' });
    expect(audit).toHaveLength(2);
  });
});
