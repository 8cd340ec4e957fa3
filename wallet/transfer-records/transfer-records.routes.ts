import { Hono } from 'hono';
import { z } from 'zod';
import { problem, ProblemError } from '../../lib/problem.js';
import { parseJsonBody, parseQuery } from '../../lib/json-body.js';
import type { WalletEnv } from '../http/wallet-env.js';
import type { WalletServices } from '../services.js';

/** The public transfer statuses (docs/api.md); a record holds the one its run ended with. */
const STATUSES = [
  'pending',
  'awaiting_confirmation',
  'processing',
  'completed',
  'failed',
  'cancelled',
  'compensating',
  'needs_attention',
] as const;

const TRANSFER_ID = /^[\x21-\x7E]{1,128}$/;
const code = z.string().regex(/^[a-z0-9_]{1,64}$/);
const instant = z.iso.datetime({ offset: true });

const stepSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_]{1,64}$/),
  status: code,
  attempts: z.number().int().min(0).max(1_000_000),
  error_code: code.optional(),
});

const recordSchema = z.strictObject({
  id: z.string().regex(TRANSFER_ID),
  run_id: z.string().min(1).max(128),
  initiated_by: z.string().min(1).max(200),
  status: z.enum(STATUSES),
  from_wallet_id: z.string().min(1).max(128),
  to_wallet_id: z.string().min(1).max(128),
  amount: z.string().regex(/^[1-9][0-9]{0,18}$/, 'a positive whole number of minor units'),
  currency: z.string().regex(/^[A-Z]{3}$/),
  description: z.string().max(1000),
  steps: z.array(stepSchema).max(16),
  failure_code: code.optional(),
  created_at: instant,
  completed_at: instant.optional(),
  closed_at: instant,
});

const checkpointSchema = z.strictObject({
  closed_through: instant,
  window_until: instant.nullable(),
  page_token: z.string().min(1).max(4096).nullable(),
});

/** One page of the archive sweep: its records and where the sweep stands after them. */
const batchSchema = z.strictObject({
  records: z.array(recordSchema).max(500),
  checkpoint: z.strictObject({ expected: checkpointSchema, next: checkpointSchema }),
});

const listQuery = z.strictObject({
  initiated_by: z.string().min(1).max(200),
  status: z.enum(STATUSES).optional(),
  before_created_at: instant.optional(),
  before_id: z.string().regex(TRANSFER_ID).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export type TransferRecordInput = z.infer<typeof recordSchema>;
export type ArchiveCheckpoint = z.infer<typeof checkpointSchema>;

export type TransferRecordRoutesDeps = Pick<
  WalletServices,
  'transferRecords' | 'db' | 'requireScope' | 'idempotent'
>;

/**
 * `/internal/transfer-records` (docs/orchestrator.md, "Transfer archive"): the durable record of
 * closed transfers.
 * The orchestrator's archive sweep writes pages of records with its checkpoint (wallet:write);
 * the gateway reads one record or a user's list once Temporal no longer knows the run
 * (wallet:read).
 */
export function createTransferRecordRoutes({
  transferRecords: records,
  db,
  requireScope,
  idempotent,
}: TransferRecordRoutesDeps) {
  const read = requireScope('wallet:read');
  const write = requireScope('wallet:write');
  const app = new Hono<WalletEnv>();

  app.get('/checkpoint', read, async (c) => c.json(await records.checkpoint(db)));

  /**
   * Upserts a page of records and moves the checkpoint from `expected` to `next` in one
   * transaction, or changes nothing with `409 checkpoint_moved` when another sweep moved it
   * first. Idempotent per key like every mutating route; the upsert is idempotent by transfer id.
   */
  app.post('/', write, async (c) => {
    const body = await parseJsonBody(c, batchSchema);
    const { expected, next } = body.checkpoint;
    if (Date.parse(next.closed_through) < Date.parse(expected.closed_through)) {
      throw new ProblemError(400, 'validation_failed', 'checkpoint.next: closed_through never moves back');
    }
    return idempotent.respond(
      c,
      body,
      (trx) => records.writePage(trx, body),
      (result) =>
        result.moved
          ? {
              status: 409,
              body: problem(409, 'checkpoint_moved', 'another sweep moved the archive checkpoint', {
                checkpoint: result.current,
              }),
            }
          : { status: 200, body: { upserted: result.upserted, checkpoint: result.checkpoint } },
    );
  });

  /** A user's records, newest first, with how far the archive reaches (`archived_through`). */
  app.get('/', read, async (c) => {
    const q = parseQuery(c, listQuery);
    if ((q.before_created_at === undefined) !== (q.before_id === undefined)) {
      throw new ProblemError(400, 'validation_failed', 'before_created_at and before_id go together');
    }
    return c.json(
      await records.list(db, {
        initiatedBy: q.initiated_by,
        ...(q.status ? { status: q.status } : {}),
        ...(q.before_created_at && q.before_id
          ? { before: { created_at: new Date(q.before_created_at), transfer_id: q.before_id } }
          : {}),
        limit: q.limit,
      }),
    );
  });

  app.get('/:transfer_id', read, async (c) => {
    const id = c.req.param('transfer_id');
    const record = TRANSFER_ID.test(id) ? await records.find(db, id) : undefined;
    if (!record) throw new ProblemError(404, 'transfer_record_not_found', 'no record of this transfer');
    return c.json(record);
  });

  return app;
}
