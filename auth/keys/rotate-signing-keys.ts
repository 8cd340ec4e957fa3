import type { AuditLog, RequestContext } from '../audit/audit.service.js';
import type { KeyStore } from './keys.service.js';

/**
 * One rotation step, safe to run on a schedule: removes retired keys whose tokens have all
 * expired, then makes a new key active (the previous one stays published).
 */
export async function rotateSigningKeys(
  deps: { keys: KeyStore; audit: AuditLog },
  by: { actor: string; context?: RequestContext },
): Promise<{ kid: string; retiredKid: string | undefined; removed: string[] }> {
  const removed = await deps.keys.removeExpiredKeys();
  for (const kid of removed) {
    await deps.audit({ event: 'key_removed', outcome: 'success', subject: by.actor, context: by.context, details: { kid } });
  }
  const { kid, retiredKid } = await deps.keys.rotate();
  await deps.audit({ event: 'key_rotation', outcome: 'success', subject: by.actor, context: by.context, details: { kid, retired_kid: retiredKid ?? null } });
  return { kid, retiredKid, removed };
}
