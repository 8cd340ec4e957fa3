import { z } from 'zod';
import type { OutboxEvent } from '../outbox/outbox.repository.js';

const text = (max = 200) => z.string().max(max);

/** One audit-trace entry (`POST /internal/audit-trace`, `records.audit[]`). */
export const auditEntrySchema = z.object({
  step: text().min(1),
  status: text(64).min(1),
  attempt: z.number().int().min(0).max(10_000),
  duration_ms: z.number().min(0).max(86_400_000),
  error: z.union([text(2000), z.record(z.string(), z.unknown())]).optional(),
});

export const auditTraceBody = auditEntrySchema.extend({
  workflow_id: text().min(1),
  // The run that wrote it: an operator's reset starts a new run of the same workflow id, whose
  // own record must not collide with the first run's.
  run_id: text().optional(),
  transfer_id: text().optional(),
});

export const authLogBody = z.object({
  transfer_id: text().min(1),
  workflow_id: text().min(1),
  user_id: text().min(1),
  // What the edge knew about the caller; any of it may be unknown (null or absent).
  client_id: text().nullish(),
  token_jti: text().nullish(),
  ip: text(64).nullish(),
  user_agent: text(512).nullish(),
  step_up: z.boolean(),
});

/**
 * `records` of a transfer's capture or release: the TransactionAuthLog document and the audit
 * trace, written in the same transaction as the money (docs/internal-api.md).
 */
export const transferRecordsSchema = z.object({
  auth_log: authLogBody.extend({
    outcome: z.enum(['completed', 'failed', 'cancelled']),
    failure_code: text(64).optional(),
  }),
  audit: z.array(auditEntrySchema).max(200).default([]),
});
export type TransferRecords = z.infer<typeof transferRecordsSchema>;

/**
 * The outbox rows of `records`, with the same documents as /internal/auth-log and
 * /internal/audit-trace produce. Event ids derive from the transfer and the step, so a retried
 * or repeated request queues each document once.
 */
export function transferRecordEvents(
  records: TransferRecords | undefined,
  recordedBy: string,
  now = new Date(),
): OutboxEvent[] {
  if (!records) return [];
  const { transfer_id, workflow_id } = records.auth_log;
  const stamp = { recorded_by: recordedBy, recorded_at: now.toISOString() };
  return [
    {
      eventId: `${transfer_id}:auth-log`,
      collection: 'transaction_auth_log',
      document: { ...records.auth_log, ...stamp },
    },
    ...records.audit.map((entry, i) => ({
      eventId: `${transfer_id}:audit:${i}:${entry.step}:${entry.status}`,
      collection: 'audit_trace' as const,
      document: { workflow_id, transfer_id, ...entry, ...stamp },
    })),
  ];
}
