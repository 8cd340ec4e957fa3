import { randomUUID } from 'node:crypto';
import type { Db } from '../database.js';
import { enqueueOutbox } from '../outbox/outbox.repository.js';

/** Where an audit record goes in MongoDB. */
export type AuditCollection = 'audit_trace' | 'transaction_auth_log';

export interface AuditService {
  /**
   * Queues one record for MongoDB in the caller's transaction (the idempotency transaction, so a
   * key yields one record however often it is retried). Returns the record's id (`_id`).
   */
  record(
    trx: Db,
    collection: AuditCollection,
    fields: Record<string, unknown>,
    recordedBy: string,
  ): Promise<string>;
}

export function createAuditService(): AuditService {
  return {
    async record(trx, collection, fields, recordedBy) {
      const id = randomUUID();
      await enqueueOutbox(trx, [
        {
          eventId: id,
          collection,
          document: { ...fields, recorded_by: recordedBy, recorded_at: new Date().toISOString() },
        },
      ]);
      return id;
    },
  };
}
