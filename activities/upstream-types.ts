/** Shapes of AuthService and WalletService answers (docs/internal-api.md) that activities read. */

export interface AuthUser {
  user_id: string;
  email: string;
  /** `pending`, `active` or `disabled`. */
  status: string;
  roles: string[];
  tier: 'unverified' | 'verified';
  limits: { per_transfer: string; daily: string };
}

export interface CreatedUser {
  user_id: string;
  status: string;
  existing: boolean;
}

export type { Wallet } from '../lib/wallet-api-types.js';

export interface Hold {
  id: string;
  wallet_id: string;
  amount: string;
  captured_amount: string;
  currency: string;
  status: 'active' | 'captured' | 'released' | 'expired';
  transfer_id: string;
  expires_at: string;
}

export interface OtpChallenge {
  challenge_id: string;
  expires_at: string;
}
