import type { Kysely } from 'kysely';
import type { Logger } from '../lib/logger.js';
import type { Database } from './database.js';
import type { KeyStore } from './keys/keys.service.js';

/** Refresh-token rows are kept this long past their family's end (for reuse forensics). */
const REFRESH_ROW_RETENTION_DAYS = 7;
const DAY_MS = 86_400_000;
/** Expired rows and keys pile up slowly; once an hour is often enough. */
const HOUSEKEEPING_INTERVAL_MS = 3_600_000;

/**
 * Periodic cleanup every instance may run (each step is idempotent): deletes refresh-token rows
 * long past their absolute expiry and retired signing keys whose tokens have all expired.
 * Returns a function that stops the timer.
 */
export function startHousekeeping(deps: {
  db: Kysely<Database>;
  keys: KeyStore;
  log: Logger;
  intervalMs?: number;
}): () => void {
  const run = async () => {
    try {
      const cutoff = new Date(Date.now() - REFRESH_ROW_RETENTION_DAYS * DAY_MS);
      const deleted = await deps.db
        .deleteFrom('refresh_tokens')
        .where('expires_at', '<', cutoff)
        .executeTakeFirst();
      const removedKeys = await deps.keys.removeExpiredKeys();
      if (Number(deleted.numDeletedRows) > 0 || removedKeys.length > 0) {
        deps.log.info(
          { refresh_tokens_deleted: Number(deleted.numDeletedRows), removed_kids: removedKeys },
          'housekeeping',
        );
      }
    } catch (err) {
      deps.log.error({ err }, 'housekeeping failed');
    }
  };
  const timer = setInterval(() => void run(), deps.intervalMs ?? HOUSEKEEPING_INTERVAL_MS);
  timer.unref();
  void run();
  return () => clearInterval(timer);
}
