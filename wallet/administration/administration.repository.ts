import { randomUUID } from 'node:crypto';
import type { Db } from '../database.js';
import type { WalletStatusChangeRow, WalletStatusChangesTable } from './administration.table.js';

export async function insertStatusChange(
  db: Db,
  change: Omit<WalletStatusChangesTable, 'id' | 'created_at'>,
): Promise<WalletStatusChangeRow> {
  return db
    .insertInto('wallet_status_changes')
    .values({ id: randomUUID(), ...change })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Whether the wallet has any active hold (of a transfer, a reversal or POST /internal/holds). */
export async function hasActiveHold(db: Db, walletId: string): Promise<boolean> {
  const row = await db
    .selectFrom('holds')
    .select('id')
    .where('wallet_id', '=', walletId)
    .where('status', '=', 'active')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The wallet's status changes, oldest first. */
export async function listStatusChanges(db: Db, walletId: string): Promise<WalletStatusChangeRow[]> {
  return db
    .selectFrom('wallet_status_changes')
    .selectAll()
    .where('wallet_id', '=', walletId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}
