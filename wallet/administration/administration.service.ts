import type { Db } from '../database.js';
import { enqueueOutbox } from '../outbox/outbox.repository.js';
import { WalletError } from '../wallets/wallets.errors.js';
import { lockWallets, setWalletStatus } from '../wallets/wallets.repository.js';
import type { WalletRow, WalletStatus } from '../wallets/wallets.table.js';
import { AdministrationError } from './administration.errors.js';
import { hasActiveHold, insertStatusChange } from './administration.repository.js';
import type { WalletAction, WalletStatusChangeRow } from './administration.table.js';

/** The status each action leads to. */
export const STATUS_AFTER: Readonly<Record<WalletAction, WalletStatus>> = {
  freeze: 'frozen',
  unfreeze: 'active',
  close: 'closed',
};

export interface StatusChangeInput {
  walletId: string;
  action: WalletAction;
  reason: string;
  /** The operator who asked (reported by the gateway). */
  requestedBy: string;
  /** The calling service's client id. */
  recordedBy: string;
}

export interface StatusChangeResult {
  wallet: WalletRow;
  /** The recorded change; null when the wallet already had the status (nothing changed). */
  change: WalletStatusChangeRow | null;
}

export interface AdministrationService {
  /**
   * Freezes, unfreezes or closes a user wallet under its lock, recording who asked and why in
   * `wallet_status_changes` and the audit trace (MongoDB, through the outbox) in the same
   * transaction. Asking for the status the wallet already has changes and records nothing.
   * A closed wallet never changes again (`wallet_closed`); close needs a zero balance and no
   * active hold (`wallet_not_empty`).
   */
  changeStatus(
    trx: Db,
    input: StatusChangeInput,
  ): Promise<StatusChangeResult | WalletError | AdministrationError>;
}

export function createAdministrationService(): AdministrationService {
  return {
    async changeStatus(trx, input) {
      // The wallet's lock orders this change against every reserve, capture and hold of the
      // wallet: a reserve that comes after a freeze sees it, and no hold can appear while a
      // close checks that there is none.
      const row = (await lockWallets(trx, [input.walletId])).get(input.walletId);
      if (!row || row.kind !== 'user') return WalletError.WalletNotFound;
      const target = STATUS_AFTER[input.action];
      if (row.status === target) return { wallet: row, change: null };
      if (row.status === 'closed') return WalletError.WalletClosed;
      if (
        input.action === 'close' &&
        (row.posted !== 0n || row.pending !== 0n || (await hasActiveHold(trx, row.id)))
      ) {
        return AdministrationError.WalletNotEmpty;
      }
      const wallet = await setWalletStatus(trx, row.id, target);
      if (!wallet) return WalletError.WalletNotFound;
      const record = {
        wallet_id: row.id,
        action: input.action,
        from_status: row.status,
        to_status: target,
        reason: input.reason,
        requested_by: input.requestedBy,
        recorded_by: input.recordedBy,
      };
      const change = await insertStatusChange(trx, record);
      await enqueueOutbox(trx, [
        {
          eventId: `wallet-status:${change.id}`,
          collection: 'audit_trace',
          document: {
            kind: 'wallet_status_change',
            user_id: row.user_id,
            ...record,
            recorded_at: change.created_at.toISOString(),
          },
        },
      ]);
      return { wallet, change };
    },
  };
}
