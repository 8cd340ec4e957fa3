/**
 * Wire types of WalletService's internal API that more than one caller reads (the
 * orchestrator's activities and the gateway). Field names follow docs/internal-api.md; the
 * public API shows the same `Wallet` shape.
 */

/** A wallet as WalletService returns it; amounts are strings of digits (minor units). */
export interface Wallet {
  id: string;
  user_id: string;
  currency: string;
  /** `active`, `frozen` or `closed`. */
  status: string;
  balance: { posted: string; pending: string; available: string };
  created_at: string;
}
