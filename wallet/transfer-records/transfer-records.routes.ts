import { Hono } from 'hono';
import { z } from 'zod';
import { problem, ProblemError } from '../../lib/problem.js';
import { respondIdempotently } from '../idempotency/idempotent-route.js';
import { parseJsonBody, parseQuery } from '../../lib/json-body.js';
import type { WalletDeps, WalletEnv } from '../wallet-env.js';
import { requireWalletScope } from '../wallet-scopes.js';
import {
  findTransferRecord,
  listTransferRecords,
  readArchiveCheckpoint,
  upsertTransferRecords,
  writeArchiveCheckpoint,
  type NewTransferRecord,
} from './transfer-records.repository.js';
import type { TransferArchiveCheckpointRow, TransferRecordRow } from './transfer-records.table.js';

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

/** A record as the internal API answers it: the public `Transfer` plus whose it is and its run. */
export function toRecordView(row: TransferRecordRow): TransferRecordInput {
  return {
    id: row.transfer_id,
    run_id: row.run_id,
    initiated_by: row.initiated_by,
    status: row.status as TransferRecordInput['status'],
    from_wallet_id: row.from_wallet_id,
    to_wallet_id: row.to_wallet_id,
    amount: row.amount.toString(),
    currency: row.currency,
    description: row.description,
    steps: row.steps as TransferRecordInput['steps'],
    ...(row.failure_code === null ? {} : { failure_code: row.failure_code }),
    created_at: row.created_at.toISOString(),
    ...(row.completed_at === null ? {} : { completed_at: row.completed_at.toISOString() }),
    closed_at: row.closed_at.toISOString(),
  };
}

export function toCheckpointView(row: TransferArchiveCheckpointRow): ArchiveCheckpoint {
  return {
    closed_through: row.closed_through.toISOString(),
    window_until: row.window_until?.toISOString() ?? null,
    page_token: row.page_token,
  };
}

function toRow(r: TransferRecordInput): NewTransferRecord {
  return {
    transfer_id: r.id,
    run_id: r.run_id,
    initiated_by: r.initiated_by,
    status: r.status,
    from_wallet_id: r.from_wallet_id,
    to_wallet_id: r.to_wallet_id,
    amount: BigInt(r.amount),
    currency: r.currency,
    description: r.description,
    steps: JSON.stringify(r.steps),
    failure_code: r.failure_code ?? null,
    created_at: new Date(r.created_at),
    completed_at: r.completed_at === undefined ? null : new Date(r.completed_at),
    closed_at: new Date(r.closed_at),
  };
}

/** Same instant and position: checkpoints compare by value, whatever the ISO spelling. */
function sameCheckpoint(a: ArchiveCheckpoint, b: ArchiveCheckpoint): boolean {
  const ms = (v: string | null) => (v === null ? null : Date.parse(v));
  return (
    ms(a.closed_through) === ms(b.closed_through) &&
    ms(a.window_until) === ms(b.window_until) &&
    a.page_token === b.page_token
  );
}

/**
 * `/internal/transfer-records` (docs/orchestrator.md, "Transfer archive"): the durable record of
 * closed transfers.
 * The orchestrator's archive sweep writes pages of records with its checkpoint (wallet:write);
 * the gateway reads one record or a user's list once Temporal no longer knows the run
 * (wallet:read).
 */
export function createTransferRecordRoutes(deps: WalletDeps) {
  const read = requireWalletScope(deps.verifier, 'wallet:read');
  const write = requireWalletScope(deps.verifier, 'wallet:write');
  const app = new Hono<WalletEnv>();

  app.get('/checkpoint', read, async (c) => c.json(toCheckpointView(await readArchiveCheckpoint(deps.db))));

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
    return respondIdempotently(
      c,
      deps,
      body,
      async (trx) => {
        const current = toCheckpointView(await readArchiveCheckpoint(trx, { lock: true }));
        if (!sameCheckpoint(current, expected)) return { moved: true as const, current };
        const upserted = await upsertTransferRecords(trx, body.records.map(toRow));
        const written = await writeArchiveCheckpoint(trx, {
          closed_through: new Date(next.closed_through),
          window_until: next.window_until === null ? null : new Date(next.window_until),
          page_token: next.page_token,
        });
        return { moved: false as const, upserted, checkpoint: toCheckpointView(written) };
      },
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
    // The checkpoint first: every run closed up to it is in the rows read after it, so the
    // caller may take any run closed later from Temporal's visibility without a gap.
    const checkpoint = await readArchiveCheckpoint(deps.db);
    const rows = await listTransferRecords(deps.db, {
      initiatedBy: q.initiated_by,
      ...(q.status ? { status: q.status } : {}),
      ...(q.before_created_at && q.before_id
        ? { before: { created_at: new Date(q.before_created_at), transfer_id: q.before_id } }
        : {}),
      limit: q.limit,
    });
    return c.json({
      items: rows.map(toRecordView),
      archived_through: checkpoint.closed_through.toISOString(),
    });
  });

  app.get('/:transfer_id', read, async (c) => {
    const id = c.req.param('transfer_id');
    const row = TRANSFER_ID.test(id) ? await findTransferRecord(deps.db, id) : undefined;
    if (!row) throw new ProblemError(404, 'transfer_record_not_found', 'no record of this transfer');
    return c.json(toRecordView(row));
  });

  return app;
}
