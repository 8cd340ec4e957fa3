import type { Wallet as WalletView } from '../wallet/wallet-api.js';

/**
 * The fields of WalletService's `Wallet` that its callers read, taken from the wallet's own
 * declaration (wallet/wallet-api.ts, where every wire type of its internal API lives) instead of
 * a copy that could drift. A bridge only: once the gateway and activities import
 * wallet/wallet-api.ts themselves, this file goes.
 */
export type Wallet = Pick<WalletView, 'id' | 'user_id' | 'currency' | 'status' | 'balance' | 'created_at'>;
