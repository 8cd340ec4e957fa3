import type { Context } from 'hono';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';
import { isAdmin } from '../http/authn.js';
import { unwrap } from '../http/forward.js';
import { propagationHeaders, type GatewayEnv } from '../http/request-context.js';
import type { Upstream } from '../http/upstream.js';
import type { Wallet } from '../../wallet/wallet-api.js';
import type { WalletReader } from './wallet-reader.js';

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
  return checkAccess(unwrap(wallet.name, result), principal, access);
}

/**
 * {@link loadAccessibleWallet} for reads through the batched reader (wallet-reader.ts): the same
 * check, the same 404 for a wallet that is missing or someone else's.
 */
export async function readAccessibleWallet(
  read: WalletReader,
  c: Context<GatewayEnv>,
  walletId: string,
  principal: Principal,
): Promise<Wallet> {
  return checkAccess(await read(walletId, propagationHeaders(c)), principal, 'read');
}

/** The BOLA rule: the owner (a user, never a service) may use it; an admin may read any. */
function checkAccess(found: Wallet | undefined, principal: Principal, access: 'read' | 'spend'): Wallet {
  if (!found) throw notFound();
  const owner = found.user_id === principal.subject && !principal.isService;
  if (owner || (access === 'read' && isAdmin(principal))) return found;
  throw notFound();
}

/** What a spend check needs of a wallet: who owns it and its currency, both fixed at creation. */
export interface SpendableWallet {
  id: string;
  user_id: string;
  currency: string;
}

export type SpendCheck = (
  c: Context<GatewayEnv>,
  walletId: string,
  principal: Principal,
) => Promise<SpendableWallet>;

/**
 * The transfer route's BOLA check (`loadAccessibleWallet(…, 'spend')`) with a memory of the two
 * facts it reads, owner and currency, which no route or function of WalletService ever changes
 * after the wallet is created: a wallet seen once is not fetched again for `ttlMs` (a safety
 * bound, not a staleness one). Only wallets that exist are remembered (an unknown id asks every
 * time); status (frozen, closed), balance and limits are not the gateway's to check — the
 * reserve checks them under the wallet's lock.
 */
export function createSpendCheck(
  wallet: Upstream,
  options: { ttlMs?: number; maxEntries?: number } = {},
): SpendCheck {
  // fetch() shares one read among concurrent requests for a wallet not yet known; a read that
  // fails (404, an outage) is not remembered.
  const known = new LRUCache<string, SpendableWallet, Context<GatewayEnv>>({
    max: options.maxEntries ?? 50_000,
    ttl: options.ttlMs ?? 10 * 60_000,
    // An eviction while the read is in flight must not fail the request waiting for it.
    ignoreFetchAbort: true,
    fetchMethod: async (walletId, _stale, { context: c }) => {
      const result = await wallet.client.request<Wallet>(
        'GET',
        `/internal/wallets/${encodeURIComponent(walletId)}`,
        { headers: propagationHeaders(c) },
      );
      if (!result.ok && result.status === 404) throw notFound();
      const { id, user_id, currency } = unwrap(wallet.name, result);
      return { id, user_id, currency };
    },
  });

  return async (c, walletId, principal) => {
    const found = await known.fetch(walletId, { context: c });
    // Same answer as loadAccessibleWallet(…, 'spend'): someone else's wallet is "not found".
    if (found && found.user_id === principal.subject && !principal.isService) return found;
    throw notFound();
  };
}
