import type { Kysely } from 'kysely';
import type { Logger } from '../../lib/logger.js';
import type { Database } from '../database.js';
import { insertAuthEvent } from './audit.repository.js';
import type { AuditEvent, AuditOutcome } from './audit.table.js';

/** Where a request came from, as recorded in the audit trail. */
export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
}

export interface AuditEntry {
  event: AuditEvent;
  outcome: AuditOutcome;
  subject?: string | null;
  clientId?: string | null;
  context?: RequestContext;
  /** Identifiers and reason codes only: the caller must never put a secret here. */
  details?: Record<string, unknown>;
}

export type AuditLog = (entry: AuditEntry) => Promise<void>;

/**
 * Records authentication events in `auth_events`. A failing insert is logged, not thrown:
 * losing one audit row must not turn a login into an outage, and the log line keeps the event.
 */
export function createAuditLog(deps: {
  db: Kysely<Database>;
  log: Logger;
  onEvent?: (entry: AuditEntry) => void;
}): AuditLog {
  return async (entry) => {
    deps.onEvent?.(entry);
    const row = {
      event: entry.event,
      outcome: entry.outcome,
      subject: entry.subject ?? null,
      client_id: entry.clientId ?? null,
      ip: entry.context?.ip ?? null,
      user_agent: entry.context?.userAgent?.slice(0, 256) ?? null,
      details: entry.details ?? {},
    };
    try {
      await insertAuthEvent(deps.db, row);
    } catch (err) {
      deps.log.error({ err, audit: row }, 'audit insert failed');
    }
  };
}
