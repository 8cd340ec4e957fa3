import { currencyExponent } from '../../lib/money.js';
import type { Db } from '../database.js';
import { WalletError } from './wallets.errors.js';
import {
  findUserWallet,
  findWallet,
  findWallets,
  insertUserWallet,
  listUserWallets,
  lockWallets,
  setOverdraftLimit,
} from './wallets.repository.js';
import type { WalletRow, WalletStatus } from './wallets.table.js';

/** The public shape of a wallet (docs/internal-api.md `Wallet`); amounts are strings of digits. */
export interface WalletView {
  id: string;
  user_id: string;
  currency: string;
  status: WalletStatus;
  balance: { posted: string; pending: string; available: string };
  overdraft_limit: string;
  /** Minor-unit digits of the currency (ISO 4217): 2 for USD, 0 for JPY, 3 for KWD. */
  exponent: number;
  created_at: string;
}

export function toWalletView(row: WalletRow): WalletView {
  return {
    id: row.id,
    user_id: row.user_id ?? '',
    currency: row.currency,
    status: row.status,
    balance: {
      posted: row.posted.toString(),
      pending: row.pending.toString(),
      available: (row.posted - row.pending).toString(),
    },
    overdraft_limit: row.overdraft_limit.toString(),
    exponent: currencyExponent(row.currency),
    created_at: row.created_at.toISOString(),
  };
}

/** Spendable amount: available balance plus any overdraft an operator granted. */
export function spendable(row: WalletRow): bigint {
  return row.posted - row.pending + row.overdraft_limit;
}

/** Why a wallet may not send money right now, if it may not. */
export function cannotSend(row: WalletRow | undefined, currency: string): WalletError | undefined {
  if (!row || row.kind !== 'user') return WalletError.WalletNotFound;
  if (row.status === 'frozen') return WalletError.WalletFrozen;
  if (row.status === 'closed') return WalletError.WalletClosed;
  if (row.currency !== currency) return WalletError.CurrencyMismatch;
  return undefined;
}

/** Why a wallet may not receive money right now, if it may not (same rules as sending). */
export const cannotReceive = cannotSend;

export interface WalletService {
  /** Creates the user's wallet in `currency`, or returns the existing one (`created: false`). */
  create(db: Db, userId: string, currency: string): Promise<{ wallet: WalletRow; created: boolean }>;
  get(db: Db, id: string): Promise<WalletRow | WalletError>;
  /** The user wallets among `ids` (unknown ids and system accounts are left out), in no order. */
  getMany(db: Db, ids: readonly string[]): Promise<WalletRow[]>;
  listByUser(db: Db, userId: string): Promise<WalletRow[]>;
  /**
   * Operators: how far below zero the wallet's available balance may go. Lowering it below what
   * the wallet already uses is refused (`insufficient_funds`): the constraint would break.
   */
  setOverdraft(db: Db, id: string, limit: bigint): Promise<WalletRow | WalletError>;
}

export function createWalletService(): WalletService {
  return {
    async create(db, userId, currency) {
      const inserted = await insertUserWallet(db, userId, currency);
      if (inserted) return { wallet: inserted, created: true };
      const existing = await findUserWallet(db, userId, currency);
      if (!existing)
        throw new Error(`wallet of ${userId} in ${currency} vanished after a conflicting insert`);
      return { wallet: existing, created: false };
    },
    async get(db, id) {
      const row = await findWallet(db, id);
      return row && row.kind === 'user' ? row : WalletError.WalletNotFound;
    },
    async getMany(db, ids) {
      return (await findWallets(db, ids)).filter((row) => row.kind === 'user');
    },
    async listByUser(db, userId) {
      return listUserWallets(db, userId);
    },
    async setOverdraft(db, id, limit) {
      const row = (await lockWallets(db, [id])).get(id);
      if (!row || row.kind !== 'user') return WalletError.WalletNotFound;
      if (row.posted - row.pending + limit < 0n) return WalletError.InsufficientFunds;
      return setOverdraftLimit(db, id, limit);
    },
  };
}
