import type { Principal } from '../../lib/jwt-verifier.js';

/** Hono environment of every wallet route: the authenticated caller. */
export interface WalletEnv {
  Variables: { principal: Principal };
}
