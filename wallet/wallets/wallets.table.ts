import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

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
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type WalletRow = Selectable<WalletsTable>;
export type NewWalletRow = Insertable<WalletsTable>;
