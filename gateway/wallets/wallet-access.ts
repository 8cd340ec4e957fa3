import type { Context } from 'hono';
import type { Principal } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';
import { isAdmin } from '../platform/authn.js';
import { unwrap } from '../platform/forward.js';
import { propagationHeaders, type GatewayEnv } from '../platform/request-context.js';
import type { Upstream } from '../platform/upstream.js';
import type { Wallet } from '../../lib/wallet-api-types.js';

export type { Wallet };

const notFound = () => new ProblemError(404, 'wallet_not_found', 'no such wallet');

/**
 * Loads a wallet and checks that `principal` may use it (BOLA). Another user's wallet answers
 * exactly like a missing one, so ids cannot be probed. Admins may read any wallet, never spend
 * from one (`forSpending`).
 */
export async function loadAccessibleWallet(
  wallet: Upstream,
  c: Context<GatewayEnv>,
  walletId: string,
  principal: Principal,
  access: 'read' | 'spend',
): Promise<Wallet> {
  const result = await wallet.client.request<Wallet>(
    'GET',
    `/internal/wallets/${encodeURIComponent(walletId)}`,
    {
      headers: propagationHeaders(c),
    },
  );
  if (!result.ok && result.status === 404) throw notFound();
  const found = unwrap(wallet.name, result);
  const owner = found.user_id === principal.subject && !principal.isService;
  if (owner || (access === 'read' && isAdmin(principal))) return found;
  throw notFound();
}
