import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import { namedStatement } from '../../lib/db.js';
import type { Db } from '../database.js';
import type { SystemAccountName, WalletKind, WalletRow, WalletStatus } from './wallets.table.js';

/** Inserts a user wallet unless the user already has one in that currency; returns the new row or undefined. */
export async function insertUserWallet(
  db: Db,
  userId: string,
  currency: string,
): Promise<WalletRow | undefined> {
  return db
    .insertInto('wallets')
    .values({ id: randomUUID(), kind: 'user', user_id: userId, system_name: null, currency })
    .onConflict((oc) => oc.columns(['user_id', 'currency']).where('kind', '=', 'user').doNothing())
    .returningAll()
    .executeTakeFirst();
}

/** Every column of a wallet row, named: a prepared statement's result must not change shape. */
const WALLET_COLUMNS = [
  'id',
  'kind',
  'user_id',
  'system_name',
  'currency',
  'status',
  'posted',
  'pending',
  'overdraft_limit',
  'shard',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof WalletRow)[];
// A column added to WalletsTable and not listed above fails to compile here.
type UnlistedColumn = Exclude<keyof WalletRow, (typeof WALLET_COLUMNS)[number]>;
export const everyWalletColumnListed: [UnlistedColumn] extends [never] ? true : UnlistedColumn = true;

/**
 * The SQL of {@link findWallet}, compiled from the typed builder once and run as a named
 * prepared statement (lib/db.ts): every wallet read runs it, and building Kysely's query tree
 * per call cost WalletService more CPU than the rest of the route's own code, and parsing and
 * planning it per call cost PostgreSQL as much as running it.
 */
let findWalletSql: string | undefined;

export async function findWallet(db: Db, id: string): Promise<WalletRow | undefined> {
  findWalletSql ??= namedStatement(
    'velora_find_wallet',
    db.selectFrom('wallets').select(WALLET_COLUMNS).where('id', '=', id).compile().sql,
  );
  const { rows } = await db.executeQuery<WalletRow>(CompiledQuery.raw(findWalletSql, [id]));
  return rows[0];
}

/** The SQL of {@link findWallets}: one statement for a batch of ids, prepared once per connection. */
let findWalletsSql: string | undefined;

/**
 * The wallets among `ids` that exist (any kind), in no particular order: the gateway's batched
 * reads (`GET /internal/wallets?ids=`), one `id = any($1)` lookup however many ids.
 */
export async function findWallets(db: Db, ids: readonly string[]): Promise<WalletRow[]> {
  findWalletsSql ??= namedStatement(
    'velora_find_wallets',
    db
      .selectFrom('wallets')
      .select(WALLET_COLUMNS)
      .where((eb) => eb('id', '=', eb.fn<string>('any', [eb.val(ids)])))
      .compile().sql,
  );
  const { rows } = await db.executeQuery<WalletRow>(CompiledQuery.raw(findWalletsSql, [ids]));
  return rows;
}

export async function findUserWallet(
  db: Db,
  userId: string,
  currency: string,
): Promise<WalletRow | undefined> {
  return db
    .selectFrom('wallets')
    .selectAll()
    .where('kind', '=', 'user')
    .where('user_id', '=', userId)
    .where('currency', '=', currency)
    .executeTakeFirst();
}

export async function listUserWallets(db: Db, userId: string): Promise<WalletRow[]> {
  return db
    .selectFrom('wallets')
    .selectAll()
    .where('kind', '=', 'user')
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/**
 * Locks the given wallets for the rest of the transaction, always in id order, so two
 * transactions touching the same wallets (A→B and B→A) queue instead of deadlocking.
 */
export async function lockWallets(db: Db, ids: readonly string[]): Promise<Map<string, WalletRow>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await db
    .selectFrom('wallets')
    .selectAll()
    .where('id', 'in', unique)
    .orderBy('id')
    .forUpdate()
    .execute();
  return new Map(rows.map((r) => [r.id, r]));
}

/** The kind (user or system) of each wallet, without locking: a wallet's kind never changes. */
export async function walletKinds(db: Db, ids: readonly string[]): Promise<Map<string, WalletKind>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await db.selectFrom('wallets').select(['id', 'kind']).where('id', 'in', unique).execute();
  return new Map(rows.map((r) => [r.id, r.kind]));
}

/**
 * Returns the id of a system account's shard, creating it when missing (`created`: by this
 * call, so it exists only once the caller's transaction commits).
 */
export async function ensureSystemAccount(
  db: Db,
  name: SystemAccountName,
  currency: string,
  shard = 0,
): Promise<{ id: string; created: boolean }> {
  const inserted = await db
    .insertInto('wallets')
    .values({ id: randomUUID(), kind: 'system', user_id: null, system_name: name, currency, shard })
    .onConflict((oc) =>
      oc.columns(['system_name', 'currency', 'shard']).where('kind', '=', 'system').doNothing(),
    )
    .returning('id')
    .executeTakeFirst();
  if (inserted) return { id: inserted.id, created: true };
  const row = await db
    .selectFrom('wallets')
    .select('id')
    .where('kind', '=', 'system')
    .where('system_name', '=', name)
    .where('currency', '=', currency)
    .where('shard', '=', shard)
    .executeTakeFirstOrThrow();
  return { id: row.id, created: false };
}

/** Adds deltas to a wallet's balances in one statement and returns the updated row. */
export async function applyBalanceDelta(
  db: Db,
  id: string,
  postedDelta: bigint,
  pendingDelta: bigint,
): Promise<WalletRow> {
  return db
    .updateTable('wallets')
    .set({
      posted: sql<bigint>`posted + ${postedDelta.toString()}::bigint`,
      pending: sql<bigint>`pending + ${pendingDelta.toString()}::bigint`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function setWalletStatus(
  db: Db,
  id: string,
  status: WalletStatus,
): Promise<WalletRow | undefined> {
  return db
    .updateTable('wallets')
    .set({ status, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('kind', '=', 'user')
    .returningAll()
    .executeTakeFirst();
}

export async function setOverdraftLimit(db: Db, id: string, limit: bigint): Promise<WalletRow> {
  return db
    .updateTable('wallets')
    .set({ overdraft_limit: limit, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}
