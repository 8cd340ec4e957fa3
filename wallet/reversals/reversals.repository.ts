import { sql } from 'kysely';
import type { Db } from '../database.js';
import type { TransferReversalRow, TransferReversalsTable } from './reversals.table.js';

export async function findReversal(
  db: Db,
  transferId: string,
  options: { lock?: boolean } = {},
): Promise<TransferReversalRow | undefined> {
  let query = db.selectFrom('transfer_reversals').selectAll().where('transfer_id', '=', transferId);
  if (options.lock) query = query.forUpdate();
  return query.executeTakeFirst();
}

/** Inserts the reversal unless the transfer has one; undefined when it had. */
export async function insertReversal(
  db: Db,
  row: Omit<TransferReversalsTable, 'created_at' | 'updated_at'>,
): Promise<TransferReversalRow | undefined> {
  return db
    .insertInto('transfer_reversals')
    .values(row)
    .onConflict((oc) => oc.column('transfer_id').doNothing())
    .returningAll()
    .executeTakeFirst();
}

/**
 * Takes a released reversal up again with a new hold (the reversal asked again after it gave
 * up); undefined when it is no longer released.
 */
export async function reholdReversal(
  db: Db,
  transferId: string,
  set: Pick<TransferReversalsTable, 'amount' | 'hold_id' | 'reason' | 'requested_by'>,
): Promise<TransferReversalRow | undefined> {
  return db
    .updateTable('transfer_reversals')
    .set({ ...set, status: 'held', updated_at: sql<Date>`now()` })
    .where('transfer_id', '=', transferId)
    .where('status', '=', 'released')
    .returningAll()
    .executeTakeFirst();
}

export async function updateReversal(
  db: Db,
  transferId: string,
  set: Pick<TransferReversalsTable, 'status'> & { transaction_id?: string },
): Promise<TransferReversalRow> {
  return db
    .updateTable('transfer_reversals')
    .set({ ...set, updated_at: sql<Date>`now()` })
    .where('transfer_id', '=', transferId)
    .returningAll()
    .executeTakeFirstOrThrow();
}
