import type { Client } from '@temporalio/client';
import type { AccessTokenVerifier } from '../lib/jwt-verifier.js';
import type { Logger } from '../lib/logger.js';
import type { GatewayConfig } from './config.js';
import type { DenylistCheck } from './http/authn.js';
import type { RateLimiter } from './http/rate-limit.js';
import type { Upstream } from './http/upstream.js';

/** Everything the gateway talks to, built once in main.ts (or by a test) and passed in. */
export interface GatewayDeps {
  config: GatewayConfig;
  log: Logger;
  /** Local JWT verification against AuthService's JWKS. */
  verifyToken: AccessTokenVerifier;
  /** Redis denylist of revoked access-token ids. */
  isRevoked: DenylistCheck;
  temporal: Client;
  /** AuthService: public routes are forwarded; `/internal/*` calls carry `serviceToken`. */
  auth: Upstream;
  /** WalletService, called with the gateway's own service token. */
  wallet: Upstream;
  /** The gateway's client_credentials access token (auth:internal wallet:read wallet:admin). */
  serviceToken: () => Promise<string>;
  rateLimiter: RateLimiter;
  /**
   * True the first time a payout-webhook signature is seen (Redis `SET NX EX` in main.ts, so
   * every gateway copy refuses a replay); absent, each process remembers its own.
   */
  payoutWebhookReplays?: (signature: string, ttlSeconds: number) => Promise<boolean>;
  /** Extra readiness checks (Redis, Temporal) for /readyz. */
  readiness?: () => Promise<Record<string, boolean>>;
}
