import type { ColumnType, Generated, Selectable } from 'kysely';

export type WalletStatus = 'active' | 'frozen' | 'closed';
export type WalletKind = 'user' | 'system';
export type SystemAccountName = 'funding' | 'settlement' | 'fees';

/** A wallet (kind `user`) or a system account (kind `system`) in one currency. */
export interface WalletsTable {
  id: string;
  kind: WalletKind;
  user_id: string | null;
  system_name: SystemAccountName | null;
  currency: string;
  status: ColumnType<WalletStatus, WalletStatus | undefined, WalletStatus>;
  /** Sum of the wallet's postings, minor units. */
  posted: ColumnType<bigint, bigint | undefined, bigint>;
  /** Sum of the wallet's active holds, minor units. */
  pending: ColumnType<bigint, bigint | undefined, bigint>;
  overdraft_limit: ColumnType<bigint, bigint | undefined, bigint>;
  /** Which shard of a system account (0 for user wallets); see {@link SYSTEM_ACCOUNT_SHARDS}. */
  shard: ColumnType<number, number | undefined, never>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/**
 * Shards per system account and currency. Every deposit credits a user wallet AND debits
 * `funding`; with one funding row per currency all deposits queued on its lock. The shard is
 * chosen by the user wallet's id, so movements of different wallets rarely share a row, while
 * the books (sum of all shards) stay exact.
 */
export const SYSTEM_ACCOUNT_SHARDS = 16;

/** The system-account shard a user wallet's movements use (stable: derived from its id). */
export function systemShardOf(walletId: string): number {
  return parseInt(walletId.replaceAll('-', '').slice(-6), 16) % SYSTEM_ACCOUNT_SHARDS;
}

export type WalletRow = Selectable<WalletsTable>;
