import type { Kysely } from 'kysely';
import type { Database, Db } from '../database.js';
import { applyBalanceDelta } from '../wallets/wallets.repository.js';
import { finishHold, lockExpiredHolds } from './holds.repository.js';
import type { HoldRow, HoldStatus } from './holds.table.js';

/** The public shape of a hold (docs/internal-api.md `Hold`). */
export interface HoldView {
  id: string;
  wallet_id: string;
  amount: string;
  captured_amount: string;
  currency: string;
  status: HoldStatus;
  transfer_id: string;
  expires_at: string;
  capture_transaction_id: string | null;
  created_at: string;
}

export function toHoldView(row: HoldRow): HoldView {
  return {
    id: row.id,
    wallet_id: row.wallet_id,
    amount: row.amount.toString(),
    captured_amount: row.captured_amount.toString(),
    currency: row.currency,
    status: row.status,
    transfer_id: row.transfer_id,
    expires_at: row.expires_at.toISOString(),
    capture_transaction_id: row.capture_transaction_id,
    created_at: row.created_at.toISOString(),
  };
}

/** Holds expired per transaction: short transactions, so the sweep never blocks a transfer long. */
const EXPIRY_BATCH = 200;

export interface HoldService {
  /** Expires every active hold past its expiry; returns how many. */
  expireDue(now?: Date): Promise<number>;
}

export function createHoldService(deps: { db: Kysely<Database> }): HoldService {
  async function expireOne(trx: Db, hold: HoldRow): Promise<HoldRow> {
    await applyBalanceDelta(trx, hold.wallet_id, 0n, -hold.amount);
    return finishHold(trx, hold.id, 'expired');
  }

  return {
    async expireDue(now = new Date()) {
      let total = 0;
      for (;;) {
        const n = await deps.db.transaction().execute(async (trx) => {
          const due = await lockExpiredHolds(trx, now, EXPIRY_BATCH);
          // Holds are locked (above) before wallets; wallets are then touched in id order.
          const sorted = [...due].sort((a, b) =>
            a.wallet_id < b.wallet_id ? -1 : a.wallet_id > b.wallet_id ? 1 : 0,
          );
          for (const hold of sorted) await expireOne(trx, hold);
          return due.length;
        });
        total += n;
        if (n < EXPIRY_BATCH) return total;
      }
    },
  };
}
