/**
 * A transfer's durable record (WalletService `/internal/transfer-records`, fed by the archive
 * sweep): what the gateway reads once Temporal no longer knows the run, and what transfer lists
 * are paged from, merged with the runs visibility still shows that the archive does not hold yet.
 */
import type { Context } from 'hono';
import type { Principal } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';
import { failureCode } from '../../activities/transfer-archive-view.js';
import type { TransferRecord } from '../../wallet/wallet-api.js';
import type { Transfer, TransferStep } from '../../workflows/transfer-contract.js';
import { isAdmin } from '../http/authn.js';
import { unwrap } from '../http/forward.js';
import { propagationHeaders, type GatewayEnv } from '../http/request-context.js';
import type { Upstream } from '../http/upstream.js';

/** The `Transfer` a record holds (the same view the workflow answered, steps by code only). */
function transferFromRecord(r: TransferRecord): Transfer {
  return {
    id: r.id,
    status: r.status,
    from_wallet_id: r.from_wallet_id,
    to_wallet_id: r.to_wallet_id,
    amount: r.amount,
    currency: r.currency,
    description: r.description,
    steps: r.steps.map((s) => ({ ...s, status: s.status as TransferStep['status'] })),
    ...(r.failure_code === undefined ? {} : { failure_code: failureCode(r.failure_code) }),
    created_at: r.created_at,
    ...(r.completed_at === undefined ? {} : { completed_at: r.completed_at }),
  };
}

/**
 * The record of a transfer the principal may see (its initiator, or an admin reading), else
 * undefined — an unknown id and another user's transfer look the same.
 */
export async function readOwnedRecord(
  wallet: Upstream,
  c: Context<GatewayEnv>,
  transferId: string,
  principal: Principal,
): Promise<Transfer | undefined> {
  const result = await wallet.client.request<TransferRecord>(
    'GET',
    `/internal/transfer-records/${encodeURIComponent(transferId)}`,
    { headers: propagationHeaders(c) },
  );
  if (!result.ok && result.status === 404) return undefined;
  const record = unwrap(wallet.name, result);
  const own = !principal.isService && record.initiated_by === principal.subject;
  return own || isAdmin(principal) ? transferFromRecord(record) : undefined;
}

/** Where a list page ends: transfers are ordered newest first by (created_at, id), which never change. */
export interface ListPosition {
  created_at: string;
  id: string;
}

/** True when `a` comes before `b` in a list (newer, or as new with the greater id). */
function before(a: ListPosition, b: ListPosition): boolean {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  return ta !== tb ? ta > tb : a.id > b.id;
}

export function encodeListCursor(p: ListPosition): string {
  return Buffer.from(JSON.stringify({ t: p.created_at, i: p.id })).toString('base64url');
}

const invalidCursor = () => new ProblemError(400, 'invalid_cursor', 'the cursor is not valid');

export function decodeListCursor(cursor: string | undefined): ListPosition | undefined {
  if (!cursor) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const { t, i } = (parsed ?? {}) as { t?: unknown; i?: unknown };
  if (
    typeof t !== 'string' ||
    typeof i !== 'string' ||
    Number.isNaN(Date.parse(t)) ||
    !/^[\x21-\x7E]{1,128}$/.test(i)
  ) {
    throw invalidCursor();
  }
  return { created_at: new Date(t).toISOString(), id: i };
}

/** One page of a user's archived transfers, and the close time up to which the archive is complete. */
export async function listRecords(
  wallet: Upstream,
  c: Context<GatewayEnv>,
  query: { user: string; status?: string; after?: ListPosition; limit: number },
): Promise<{ items: Transfer[]; archivedThrough: string }> {
  const params = new URLSearchParams({ initiated_by: query.user, limit: String(query.limit) });
  if (query.status) params.set('status', query.status);
  if (query.after) {
    params.set('before_created_at', query.after.created_at);
    params.set('before_id', query.after.id);
  }
  const result = await wallet.client.request<{ items: TransferRecord[]; archived_through: string }>(
    'GET',
    `/internal/transfer-records?${params.toString()}`,
    { headers: propagationHeaders(c) },
  );
  const page = unwrap(wallet.name, result);
  // Defence in depth: never list a record that is not the caller's, whatever the upstream sent.
  const items = page.items.filter((r) => r.initiated_by === query.user).map(transferFromRecord);
  return { items, archivedThrough: page.archived_through };
}

/**
 * Merges the archive's page with the runs visibility still knows that the archive may not hold
 * (running, or closed after `archived_through`): one transfer once (a running run's view wins,
 * else the record), newest first, after the cursor, `limit` of them; the next cursor is the
 * last item's position when more remain. Positions never change, so a transfer that moves into
 * the archive between two pages is neither repeated nor skipped.
 */
export function mergeListPage(
  archived: Transfer[],
  live: { transfer: Transfer; running: boolean }[],
  after: ListPosition | undefined,
  limit: number,
): { items: Transfer[]; next: ListPosition | null } {
  const byId = new Map<string, Transfer>();
  for (const t of archived) byId.set(t.id, t);
  for (const { transfer, running } of live) {
    if (running || !byId.has(transfer.id)) byId.set(transfer.id, transfer);
  }
  const sorted = [...byId.values()]
    .filter((t) => !after || before(after, t))
    .sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  const items = sorted.slice(0, limit);
  const last = items.at(-1);
  return { items, next: sorted.length > limit && last ? { created_at: last.created_at, id: last.id } : null };
}
