/**
 * The Redis key of a revoked access token's id. AuthService writes it (logout, revocation, a
 * disabled user, a password change); the gateway reads it before it lets a token through. Both
 * build the key here, so the two cannot drift apart.
 */
export function denylistKey(jti: string): string {
  return `auth:denylist:${jti}`;
}
