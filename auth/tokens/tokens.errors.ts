/**
 * Why a refresh token was refused. The audit trail records the reason; on the wire every one
 * of them is the same OAuth `invalid_grant`, so the answer tells a token thief nothing.
 */
export enum RefreshError {
  Invalid = 'invalid_refresh_token',
  Expired = 'refresh_token_expired',
  Revoked = 'refresh_token_revoked',
  Reused = 'refresh_token_reused',
  UserInactive = 'user_inactive',
}
