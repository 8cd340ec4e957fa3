/**
 * Which scopes and roles a user's access token carries. The public scopes are the contract
 * with the gateway (docs/api.md): it checks them per route, so this file decides what a
 * client may do for a user. This module has no dependencies, so the gateway can import it.
 */

/** The client that `/v1/auth/login` issues tokens to (first-party apps through the gateway). */
export const FIRST_PARTY_CLIENT_ID = 'velora-app';

/** The public API scopes. */
export const PublicScope = {
  /** Read own wallets, entries, transfers and withdrawals. */
  WalletRead: 'wallet:read',
  /** Create, confirm and cancel own transfers and withdrawals. */
  TransfersWrite: 'transfers:write',
  /** The `/v1/admin/*` routes: admin users through the first-party client only. */
  Admin: 'admin',
} as const;
export type PublicScope = (typeof PublicScope)[keyof typeof PublicScope];
const PUBLIC_SCOPES: readonly PublicScope[] = Object.values(PublicScope);

/** OpenID Connect: an id_token and userinfo; it grants nothing at the API. */
export const OPENID_SCOPE = 'openid';

/** Everything a user token may ever carry (the first-party client is registered with these). */
export const USER_TOKEN_SCOPES: readonly string[] = [OPENID_SCOPE, ...PUBLIC_SCOPES];

/**
 * Roles that grant power on their own (AuthService's key rotation, the gateway's operator
 * reads): only first-party tokens carry them, so a third-party app never acts as an admin.
 */
const PRIVILEGED_ROLES: readonly string[] = ['admin', 'operator'];

/**
 * The public scopes a user may hold through `clientId`: every user reads wallets and moves
 * money; `admin` only an admin user, and only through the first-party client.
 */
function userScopes(roles: readonly string[], clientId: string): PublicScope[] {
  const scopes: PublicScope[] = [PublicScope.WalletRead, PublicScope.TransfersWrite];
  if (clientId === FIRST_PARTY_CLIENT_ID && roles.includes('admin')) scopes.push(PublicScope.Admin);
  return scopes;
}

/**
 * The scope a user token gets: what was asked for (and already checked against what the client
 * is registered for) ∩ what the user may hold through that client. Anything else — unknown or
 * service scopes a client was registered with by mistake — is dropped. Refresh passes the
 * stored grant, so a session never widens, and narrows when the user lost a role.
 */
export function userTokenScope(requested: string, roles: readonly string[], clientId: string): string {
  const allowed = new Set<string>([OPENID_SCOPE, ...userScopes(roles, clientId)]);
  const wanted = new Set(requested.split(' ').filter(Boolean));
  return USER_TOKEN_SCOPES.filter((s) => wanted.has(s) && allowed.has(s)).join(' ');
}

/** A first-party session (password login, its OTP step, its refresh): the user's full set. */
export function firstPartyScope(roles: readonly string[]): string {
  return userTokenScope(USER_TOKEN_SCOPES.join(' '), roles, FIRST_PARTY_CLIENT_ID);
}

/** The `roles` claim: a third-party token never carries a privileged role. */
export function tokenRoles(roles: readonly string[], clientId: string): string[] {
  return clientId === FIRST_PARTY_CLIENT_ID ? [...roles] : roles.filter((r) => !PRIVILEGED_ROLES.includes(r));
}
