import type { ColumnType, Selectable } from 'kysely';
import type { WalletStatus } from '../wallets/wallets.table.js';

/** What an operator did to a wallet. */
export type WalletAction = 'freeze' | 'unfreeze' | 'close';

/** One status change of a wallet, kept forever (append-only): who, why, from what to what. */
export interface WalletStatusChangesTable {
  id: string;
  wallet_id: string;
  action: WalletAction;
  from_status: WalletStatus;
  to_status: WalletStatus;
  reason: string;
  /** The operator who asked (the admin user id, or `client:<id>`), as the gateway reports it. */
  requested_by: string;
  /** The service client that made the call (the gateway). */
  recorded_by: string;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export type WalletStatusChangeRow = Selectable<WalletStatusChangesTable>;
