/**
 * The ledger operations the `ledger` scenario drives: WalletService's server-side functions
 * (docs/wallet.md, migration 0002), called through WalletService's own repository functions
 * (wallet/transfers/transfers.repository.ts: named prepared statements), so the bench sends
 * what the service sends for a transfer —
 * `velora_reserve_transfer` (authorize + reserve with the idempotency record) and
 * `velora_capture_hold` (capture with the auth-log and audit-trace outbox rows), one round trip
 * each. The journal sealer runs alongside, as it does in the service, so its share of the work
 * is in the figure too. `reserveCapturingOnce` sends what the service sends for a transfer
 * without step-up since migration 0046: `velora_reserve_capture_transfer`, one round trip.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { createLogger } from '../../lib/logger.js';
import type { Database } from '../../wallet/database.js';
import type { LedgerFunctionOutcome } from '../../wallet/idempotency/idempotency.service.js';
import { createJournalSealer } from '../../wallet/ledger/journal-sealer.js';
import type { OutboxEvent } from '../../wallet/outbox/outbox.repository.js';
import {
  captureHold,
  reserveAndCaptureTransfer,
  reserveTransfer,
} from '../../wallet/transfers/transfers.repository.js';

const SCOPE = 'client:velora-bench';
/** The unverified tier's limits of the local stack (docs/api.md). */
const PER_TRANSFER_LIMIT = 500_000n;
const DAILY_LIMIT = 2_000_000n;
const HOLD_TTL_SECONDS = 3600;
/** How often the service's sealer runs by default (WALLET_SEAL_INTERVAL_MS). */
const SEAL_INTERVAL_MS = 200;

interface FunctionOutcome {
  response: { code?: string; hold?: { id: string } };
}

const code = (r: LedgerFunctionOutcome) => (r.response as FunctionOutcome['response']).code;

export interface BenchWallet {
  id: string;
  userId: string;
}

export interface LedgerOps {
  /** What is being driven, for the report. */
  driver: string;
  /** `n` user wallets, each funded by a deposit of `funds` from the funding account. */
  fundedWallets(n: number, funds: bigint): Promise<BenchWallet[]>;
  /** Reserve `amount` on `from` for a transfer to `to`, then capture it; a refusal is returned by code. */
  reserveAndCapture(from: BenchWallet, to: BenchWallet, amount: bigint): Promise<string | undefined>;
  /** The same transfer as ONE call and transaction (migration 0046); a refusal is returned by code. */
  reserveCapturingOnce(from: BenchWallet, to: BenchWallet, amount: bigint): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** Fails with a clear message when the wallet database lacks the server-side functions. */
async function requireFunctions(db: Kysely<Database>): Promise<void> {
  const { rows } = await sql<{ ok: boolean }>`
    select to_regproc('velora_reserve_transfer') is not null and to_regproc('velora_capture_hold') is not null as ok`.execute(
    db,
  );
  if (!rows[0]?.ok)
    throw new Error('the wallet database has no velora_reserve_transfer / velora_capture_hold');
}

export async function createLedgerOps(db: Kysely<Database>): Promise<LedgerOps> {
  await requireFunctions(db);
  const sealer = createJournalSealer({ db, log: createLogger('bench-sealer', 'silent') });
  sealer.start(SEAL_INTERVAL_MS);
  return {
    driver:
      'velora_reserve_transfer + velora_capture_hold (one named prepared statement each), journal sealer running',
    async fundedWallets(n, funds) {
      const { rows: funding } = await sql<{ id: string }>`
        insert into wallets (id, kind, user_id, system_name, currency)
        values (gen_random_uuid(), 'system', null, 'funding', 'USD')
        on conflict do nothing returning id`.execute(db);
      const fundingId =
        funding[0]?.id ??
        (
          await sql<{
            id: string;
          }>`select id from wallets where kind = 'system' and system_name = 'funding' and currency = 'USD'`.execute(
            db,
          )
        ).rows[0]!.id;
      const wallets: BenchWallet[] = [];
      for (let i = 0; i < n; i++) {
        const userId = randomUUID();
        const { rows } = await sql<{ id: string }>`
          insert into wallets (id, kind, user_id, system_name, currency)
          values (gen_random_uuid(), 'user', ${userId}::uuid, null, 'USD') returning id`.execute(db);
        const id = rows[0]!.id;
        const legs = JSON.stringify([
          { wallet_id: fundingId, amount: (-funds).toString() },
          { wallet_id: id, amount: funds.toString() },
        ]);
        await sql`select velora_post_journal('deposit', 'USD', ${`bench-${id}`}, null, null, null, ${legs}::jsonb)`.execute(
          db,
        );
        wallets.push({ id, userId });
      }
      await sealer.sealAll();
      return wallets;
    },
    async reserveAndCapture(from, to, amount) {
      const transferId = randomUUID();
      const workflowId = `transfer-${transferId}`;
      const r = await reserveTransfer(
        db,
        { scope: SCOPE, key: `${workflowId}:reserve`, fingerprint: randomUUID() },
        reserveInput(transferId, from, to, amount),
      );
      const hold = (r.response as FunctionOutcome['response']).hold;
      if (r.status_code !== 201 || !hold) return code(r) ?? `reserve_${r.status_code}`;
      const c = await captureHold(
        db,
        { scope: SCOPE, key: `${workflowId}:capture`, fingerprint: randomUUID() },
        { holdId: hold.id, toWalletId: to.id, events: records(transferId, from, amount) },
      );
      return c.status_code === 200 ? undefined : (code(c) ?? `capture_${c.status_code}`);
    },
    async reserveCapturingOnce(from, to, amount) {
      const transferId = randomUUID();
      const workflowId = `transfer-${transferId}`;
      const r = await reserveAndCaptureTransfer(
        db,
        { scope: SCOPE, key: `${workflowId}:reserve`, fingerprint: randomUUID() },
        { key: `${workflowId}:capture`, fingerprint: randomUUID() },
        { ...reserveInput(transferId, from, to, amount), events: records(transferId, from, amount) },
      );
      return r.status_code === 201 ? undefined : (code(r) ?? `reserve_capture_${r.status_code}`);
    },
    stop: () => sealer.stop(),
  };
}

/** What the orchestrator's reserve asks for, the same in both forms. */
function reserveInput(transferId: string, from: BenchWallet, to: BenchWallet, amount: bigint) {
  return {
    transferId,
    userId: from.userId,
    fromWalletId: from.id,
    toWalletId: to.id,
    amount,
    currency: 'USD',
    perTransferLimit: PER_TRANSFER_LIMIT,
    dailyLimit: DAILY_LIMIT,
    holdTtlSeconds: HOLD_TTL_SECONDS,
  };
}

/** The auth-log and audit-trace documents a capture queues, of the size the orchestrator sends. */
function records(transferId: string, from: BenchWallet, amount: bigint): OutboxEvent[] {
  const at = new Date().toISOString();
  return [
    {
      eventId: `${transferId}:auth_log`,
      collection: 'transaction_auth_log',
      document: {
        _id: `${transferId}:auth_log`,
        transfer_id: transferId,
        user_id: from.userId,
        client_id: 'velora-gateway',
        token_jti: randomUUID(),
        ip: '127.0.0.1',
        user_agent: 'velora-bench',
        step_up: false,
        outcome: 'completed',
        amount: amount.toString(),
        currency: 'USD',
        at,
      },
    },
    {
      eventId: `${transferId}:audit`,
      collection: 'audit_trace',
      document: {
        _id: `${transferId}:audit`,
        transfer_id: transferId,
        outcome: 'completed',
        steps: ['authorize_reserve', 'capture'].map((step) => ({
          step,
          status: 'completed',
          attempt: 1,
          duration_ms: 5,
        })),
        at,
      },
    },
  ];
}
