import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Db } from '../database.js';
import { WalletError } from '../wallets/wallets.errors.js';
import { applyBalanceDelta, lockWallets } from '../wallets/wallets.repository.js';
import { cannotSend, spendable } from '../wallets/wallets.service.js';
import { HoldError } from './holds.errors.js';
import { finishHold, insertHold, lockExpiredHolds, lockHold } from './holds.repository.js';
import type { HoldRow } from './holds.table.js';

/** The public shape of a hold (docs/internal-api.md `Hold`). */
export interface HoldView {
  id: string;
  wallet_id: string;
  amount: string;
  captured_amount: string;
  currency: string;
  status: string;
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

const MAX_HOLD_MS = 7 * 24 * 3600 * 1000;

export interface CreateHoldInput {
  walletId: string;
  amount: bigint;
  currency: string;
  transferId: string;
  expiresAt: Date;
}

export interface HoldService {
  create(trx: Db, input: CreateHoldInput): Promise<HoldRow | WalletError | HoldError>;
  /** Voids the hold; releasing a released or expired hold succeeds again. */
  release(trx: Db, holdId: string): Promise<HoldRow | HoldError>;
  /** Expires every active hold past its expiry; returns how many. */
  expireDue(now?: Date): Promise<number>;
}

export function createHoldService(deps: { db: Kysely<Database> }): HoldService {
  async function expireOne(trx: Db, hold: HoldRow): Promise<HoldRow> {
    await applyBalanceDelta(trx, hold.wallet_id, 0n, -hold.amount);
    return finishHold(trx, hold.id, 'expired');
  }

  return {
    async create(trx, input) {
      const ttl = input.expiresAt.getTime() - Date.now();
      if (ttl <= 0 || ttl > MAX_HOLD_MS) return HoldError.InvalidExpiry;
      const wallet = (await lockWallets(trx, [input.walletId])).get(input.walletId);
      const refused = cannotSend(wallet, input.currency);
      if (refused) return refused;
      if (spendable(wallet!) < input.amount) return WalletError.InsufficientFunds;
      await applyBalanceDelta(trx, input.walletId, 0n, input.amount);
      return insertHold(trx, {
        id: randomUUID(),
        wallet_id: input.walletId,
        currency: input.currency,
        amount: input.amount,
        transfer_id: input.transferId,
        expires_at: input.expiresAt,
      });
    },

    async release(trx, holdId) {
      const hold = await lockHold(trx, holdId);
      if (!hold) return HoldError.HoldNotFound;
      if (hold.status === 'captured') return HoldError.HoldAlreadyCaptured;
      if (hold.status !== 'active') return hold;
      await applyBalanceDelta(trx, hold.wallet_id, 0n, -hold.amount);
      return finishHold(trx, hold.id, 'released');
    },

    async expireDue(now = new Date()) {
      let total = 0;
      for (;;) {
        const n = await deps.db.transaction().execute(async (trx) => {
          const due = await lockExpiredHolds(trx, now, 200);
          // Holds are locked (above) before wallets; wallets are then touched in id order.
          const sorted = [...due].sort((a, b) =>
            a.wallet_id < b.wallet_id ? -1 : a.wallet_id > b.wallet_id ? 1 : 0,
          );
          for (const hold of sorted) await expireOne(trx, hold);
          return due.length;
        });
        total += n;
        if (n < 200) return total;
      }
    },
  };
}
