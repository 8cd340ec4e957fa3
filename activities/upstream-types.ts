/**
 * Shapes of AuthService answers (docs/internal-api.md) that activities read. WalletService's are
 * declared by the wallet itself (wallet/wallet-api.ts) and imported from there.
 */

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

export interface OtpChallenge {
  challenge_id: string;
  expires_at: string;
}
