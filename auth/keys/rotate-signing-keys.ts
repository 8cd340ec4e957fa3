import type { AuditLog, RequestContext } from '../audit/audit.service.js';
import type { KeyStore } from './keys.service.js';

/**
 * One rotation step, safe to run on a schedule: removes retired keys whose tokens have all
 * expired, then publishes a new key that takes over signing after the activation delay (the
 * previous one stays published).
 */
export async function rotateSigningKeys(
  deps: { keys: KeyStore; audit: AuditLog },
  by: { actor: string; context?: RequestContext },
): Promise<{ kid: string; activatesAt: Date; retiredKid: string | undefined; removed: string[] }> {
  const removed = await deps.keys.removeExpiredKeys();
  for (const kid of removed) {
    await deps.audit({
      event: 'key_removed',
      outcome: 'success',
      subject: by.actor,
      context: by.context,
      details: { kid },
    });
  }
  const { kid, activatesAt, retiredKid } = await deps.keys.rotate();
  await deps.audit({
    event: 'key_rotation',
    outcome: 'success',
    subject: by.actor,
    context: by.context,
    details: { kid, activates_at: activatesAt.toISOString(), retired_kid: retiredKid ?? null },
  });
  return { kid, activatesAt, retiredKid, removed };
}
