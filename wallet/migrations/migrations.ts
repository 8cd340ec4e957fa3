import type { Migration } from 'kysely';
import * as ledger from './0001-ledger.js';

/** Every migration of velora_wallet, in order. Names never change once released. */
export const walletMigrations: Record<string, Migration> = {
  '0001-ledger': ledger,
};
