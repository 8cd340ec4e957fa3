import type { MiddlewareHandler } from 'hono';
import { METHOD_NAME_ALL } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import type { PublicScope } from '../../auth/tokens/scopes.js';
import type { Principal } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';
import { authenticate, DEPOSIT_SERVICE_SCOPES, type DenylistCheck } from './authn.js';
import type { AccessTokenVerifier } from '../../lib/jwt-verifier.js';
import type { GatewayEnv } from './request-context.js';

/**
 * Who may call a route: anyone (`public`; AuthService authenticates its own routes), any valid
 * access token (`token`), or a token carrying `scope` — one of the public scopes AuthService
 * grants (auth/tokens/scopes.ts, the one list). `serviceScopes` lets a service client
 * (client_credentials) in with one of those scopes instead.
 */
export type RouteAccess =
  | { kind: 'public' }
  | { kind: 'token' }
  | { kind: 'scope'; scope: PublicScope; serviceScopes?: readonly string[] };

export interface AccessRule {
  method: 'GET' | 'POST' | '*';
  /** Hono-style pattern: `:name` is one path segment, a trailing `*` any rest. */
  path: string;
  access: RouteAccess;
}

const publicRoute: RouteAccess = { kind: 'public' };
const anyToken: RouteAccess = { kind: 'token' };
const scope = (s: PublicScope, serviceScopes?: readonly string[]): RouteAccess => ({
  kind: 'scope',
  scope: s,
  ...(serviceScopes ? { serviceScopes } : {}),
});

/**
 * Every route of the gateway and what it needs; the first matching rule wins. A route the app
 * serves without a rule here stops the gateway at start (see {@link routesWithoutRule}), so a
 * new route cannot ship unprotected. Rules for routes of API.md not built yet (withdrawals,
 * webhooks) are listed already so they are protected from their first commit.
 */
export const ACCESS_RULES: readonly AccessRule[] = [
  // Skeleton, documentation, discovery.
  { method: 'GET', path: '/healthz', access: publicRoute },
  { method: 'GET', path: '/readyz', access: publicRoute },
  { method: 'GET', path: '/openapi.json', access: publicRoute },
  { method: 'GET', path: '/docs', access: publicRoute },
  { method: 'GET', path: '/docs/assets/:file', access: publicRoute },
  { method: 'GET', path: '/.well-known/openid-configuration', access: publicRoute },
  { method: 'GET', path: '/.well-known/jwks.json', access: publicRoute },
  // AuthService's public routes: it authenticates the caller (password, client, refresh or
  // bearer token on logout) itself.
  { method: 'POST', path: '/v1/auth/register', access: publicRoute },
  { method: 'POST', path: '/v1/auth/login', access: publicRoute },
  { method: 'POST', path: '/v1/auth/otp/send', access: publicRoute },
  { method: 'POST', path: '/v1/auth/otp/verify', access: publicRoute },
  { method: 'POST', path: '/v1/auth/token', access: publicRoute },
  { method: 'POST', path: '/v1/auth/revoke', access: publicRoute },
  { method: 'POST', path: '/v1/auth/logout', access: publicRoute },
  { method: 'GET', path: '/v1/auth/authorize', access: publicRoute },
  { method: 'POST', path: '/v1/auth/authorize', access: publicRoute },
  { method: 'POST', path: '/v1/auth/password/reset', access: publicRoute },
  { method: 'POST', path: '/v1/auth/password/reset/confirm', access: publicRoute },
  // The payout provider authenticates by its HMAC signature (checked by the route), not a token.
  { method: 'POST', path: '/v1/webhooks/payouts', access: publicRoute },
  // The signed-in user's own account: any valid token (AuthService re-checks the password on /mfa).
  { method: 'GET', path: '/v1/auth/me', access: anyToken },
  { method: 'POST', path: '/v1/auth/mfa', access: anyToken },
  { method: 'POST', path: '/v1/auth/password/change', access: anyToken },
  // Wallets.
  { method: 'GET', path: '/v1/wallets', access: scope('wallet:read') },
  { method: 'GET', path: '/v1/wallets/:wallet_id', access: scope('wallet:read') },
  { method: 'GET', path: '/v1/wallets/:wallet_id/transactions', access: scope('wallet:read') },
  // Opening a wallet changes the user's accounts: a write, never granted by `wallet:read`.
  { method: 'POST', path: '/v1/wallets', access: scope('transfers:write') },
  { method: 'POST', path: '/v1/wallets/:wallet_id/withdrawals', access: scope('transfers:write') },
  // Transfers and withdrawals.
  { method: 'GET', path: '/v1/transfers', access: scope('wallet:read') },
  { method: 'GET', path: '/v1/transfers/:transfer_id', access: scope('wallet:read') },
  { method: 'POST', path: '/v1/transfers', access: scope('transfers:write') },
  { method: 'POST', path: '/v1/transfers/:transfer_id/confirm', access: scope('transfers:write') },
  { method: 'POST', path: '/v1/transfers/:transfer_id/cancel', access: scope('transfers:write') },
  { method: 'GET', path: '/v1/withdrawals', access: scope('wallet:read') },
  { method: 'GET', path: '/v1/withdrawals/:withdrawal_id', access: scope('wallet:read') },
  { method: 'POST', path: '/v1/withdrawals/:withdrawal_id/confirm', access: scope('transfers:write') },
  { method: 'POST', path: '/v1/withdrawals/:withdrawal_id/cancel', access: scope('transfers:write') },
  // Operators. Deposits may also come from a funding service's client_credentials token.
  {
    method: 'POST',
    path: '/v1/admin/wallets/:wallet_id/deposits',
    access: scope('admin', DEPOSIT_SERVICE_SCOPES),
  },
  { method: '*', path: '/v1/admin/*', access: scope('admin') },
];

/** Finds a request's rule: the first (in {@link ACCESS_RULES}' order) whose method and path match. */
export type RuleLookup = (method: string, path: string) => AccessRule | undefined;

/**
 * One Hono router holding every rule, so a request costs one lookup instead of a regular
 * expression per rule tried in turn, and paths are matched the way the app's own router matches
 * them (`:name` one non-empty segment, a trailing `*` any rest). A router lists every match in
 * the order the rules were added: the first one is the rule.
 */
export function compileAccessRules(rules: readonly AccessRule[]): RuleLookup {
  const router = new RegExpRouter<AccessRule>();
  for (const rule of rules) router.add(rule.method === '*' ? METHOD_NAME_ALL : rule.method, rule.path, rule);
  return (method, path) => {
    // HEAD is a GET; one trailing slash is the same path.
    const m = method === 'HEAD' ? 'GET' : method;
    const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    return router.match(m, p)[0][0]?.[0];
  };
}

/** True when `principal` holds what `access` asks for. */
function isAllowed(principal: Principal, access: RouteAccess): boolean {
  if (access.kind !== 'scope') return true;
  if (principal.scopes.has(access.scope)) return true;
  return principal.isService && (access.serviceScopes ?? []).some((s) => principal.scopes.has(s));
}

/**
 * Enforces {@link ACCESS_RULES} for every request before any route runs: authenticates
 * (signature, claims, denylist) where a token is needed and refuses a token without the
 * route's scope with `403 insufficient_scope` (RFC 6750 §3.1). Route handlers still check
 * ownership (BOLA) and the user/service distinction themselves.
 */
export function authorize(
  verify: AccessTokenVerifier,
  isRevoked: DenylistCheck,
  rules: readonly AccessRule[] = ACCESS_RULES,
): MiddlewareHandler<GatewayEnv> {
  const ruleFor = compileAccessRules(rules);
  const authenticated = authenticate(verify, isRevoked);
  return async (c, next) => {
    const rule = ruleFor(c.req.method, c.req.path);
    // No rule: an unknown path (404 follows) or a CORS preflight; routes without a rule never
    // reach production, createGatewayApp refuses to build.
    if (!rule || rule.access.kind === 'public') return next();
    const access = rule.access;
    return authenticated(c, async () => {
      if (!isAllowed(c.get('principal'), access)) {
        const needed = access.kind === 'scope' ? access.scope : '';
        throw new ProblemError(
          403,
          'insufficient_scope',
          `the access token lacks the scope ${needed}`,
          { required_scope: needed },
          { 'www-authenticate': `Bearer error="insufficient_scope", scope="${needed}"` },
        );
      }
      await next();
    });
  };
}

/** `METHOD path` of each served route (Hono's route list) that no rule covers. */
export function routesWithoutRule(
  routes: readonly { method: string; path: string }[],
  rules: readonly AccessRule[] = ACCESS_RULES,
): string[] {
  const ruleFor = compileAccessRules(rules);
  return routes
    .filter((r) => r.method !== 'ALL')
    .filter((r) => ruleFor(r.method, r.path) === undefined)
    .map((r) => `${r.method} ${r.path}`);
}
