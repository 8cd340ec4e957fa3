import type { AuditEntry, AuditLog, RequestContext } from '../audit/audit.service.js';
import type { LoginThrottle } from './login-throttle.js';
import { verifyPassword } from './password-hasher.js';
import { UserError } from './users.errors.js';
import type { User } from './users.table.js';

export type ReauthenticationRefusal =
  { error: UserError.AccountLocked; retryAfterSeconds: number } | { error: UserError.InvalidCredentials };

/**
 * Re-checks a signed-in user's password before a security change (ASVS 6.1.x / 7.5.x). A stolen
 * access token must not turn such a route into an unthrottled password oracle, so the login
 * lockout applies with the same IP+account and per-IP counters as a login. Each refusal is
 * audited with the caller's event and reason; a wrong password that locks also audits `lockout`.
 * Answers undefined when the password is right (the failure counter is then reset).
 */
export async function reauthenticate(
  deps: { throttle: LoginThrottle; audit: AuditLog },
  user: Pick<User, 'id' | 'email' | 'password_hash'>,
  password: string,
  context: RequestContext,
  audited: { locked: AuditEntry['event']; badPassword: AuditEntry['event']; badPasswordReason: string },
): Promise<ReauthenticationRefusal | undefined> {
  const ip = context.ip ?? 'unknown';
  const verdict = await deps.throttle.check(ip, user.email);
  if (!verdict.allowed) {
    await deps.audit({
      event: audited.locked,
      outcome: 'failure',
      subject: user.id,
      context,
      details: { reason: 'locked' },
    });
    return { error: UserError.AccountLocked, retryAfterSeconds: verdict.retryAfterSeconds };
  }
  if (!(await verifyPassword(user.password_hash, password))) {
    const { locked } = await deps.throttle.recordFailure(ip, user.email);
    await deps.audit({
      event: audited.badPassword,
      outcome: 'failure',
      subject: user.id,
      context,
      details: { reason: audited.badPasswordReason },
    });
    if (locked) await deps.audit({ event: 'lockout', outcome: 'failure', subject: user.id, context });
    return { error: UserError.InvalidCredentials };
  }
  await deps.throttle.recordSuccess(ip, user.email);
  return undefined;
}
