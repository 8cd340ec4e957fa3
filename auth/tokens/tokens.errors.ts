/** Why a refresh token was refused. All map to OAuth `invalid_grant` on the wire. */
export enum RefreshError {
  Invalid = 'invalid_refresh_token',
  Expired = 'refresh_token_expired',
  Revoked = 'refresh_token_revoked',
  Reused = 'refresh_token_reused',
  UserInactive = 'user_inactive',
}

export const refreshErrorStatus: Record<RefreshError, number> = {
  [RefreshError.Invalid]: 400,
  [RefreshError.Expired]: 400,
  [RefreshError.Revoked]: 400,
  [RefreshError.Reused]: 400,
  [RefreshError.UserInactive]: 400,
};

export function isRefreshError(value: unknown): value is RefreshError {
  return typeof value === 'string' && (Object.values(RefreshError) as string[]).includes(value);
}
