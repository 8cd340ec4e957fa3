/**
 * The invariants of one hold-expiry schedule (issue 16): no hold outlives its expiry plus one
 * sweep; an expired hold's funds return exactly once; an unexpired or captured hold is
 * untouched by the sweep; the money balances; no balance goes negative. Read from WalletService's
 * own tables (its database, read-only). Each check returns the broken promise as a sentence.
 */
import { sql } from 'kysely';
import type { WalletHarness } from '../wallet/testing/wallet-harness.js';
import {
  holdsOf,
  readLedgerSnapshot,
  walletBalances,
  walletPostings,
  type HoldRow,
} from './ledger-snapshot.js';

/** One of the schedule's holds as the ledger has it. */
export type HoldRecord = HoldRow;

export interface HoldExpiryLedger {
  payer: { posted: bigint; pending: bigint };
  payee: { posted: bigint; pending: bigint };
  /** The schedule's holds, in the order they were placed. */
  holds: HoldRecord[];
  /** Journal transactions of kind `transfer` per transfer id, with what the payee got from each. */
  captures: Map<string, bigint[]>;
  /** Hold events queued per hold id (`hold.created`, `hold.expired`…), one per change of status. */
  events: Map<string, string[]>;
}

/** One sweep run as the harness saw it, times in ms since the epoch on the machine's clock. */
export interface SweepRecord {
  index: number;
  startedAt: number;
  finishedAt: number;
  ended: 'completed' | 'terminated' | 'failed' | 'stuck';
}

/** The transfer-like actor's last answer for a hold. */
export interface ActorRecord {
  action: 'capture' | 'release';
  status: number;
  /** The refusal's code, or `released` / `not_released` for a release's 200. */
  answer: string;
}

/** The events a hold's trigger queues (`hold.<status>:<hold id>`). */
const HOLD_EVENTS = ['hold.created', 'hold.captured', 'hold.released', 'hold.expired'];

/** Reads the two wallets, the schedule's holds, their captures and their events, in one snapshot. */
export function readHoldExpiryLedger(
  wallet: WalletHarness,
  ids: { payer: string; payee: string; transferIds: string[] },
): Promise<HoldExpiryLedger> {
  return readLedgerSnapshot(wallet, async (db) => {
    const rows = await holdsOf(db, ids.transferIds);
    const holds = ids.transferIds.map((transferId) => {
      const row = rows.find((r) => r.transfer_id === transferId);
      if (!row) throw new Error(`no hold for transfer ${transferId}`);
      return row;
    });
    const captures = new Map<string, bigint[]>();
    for (const p of await walletPostings(db, ids.payee, 'transfer', { transferIds: ids.transferIds })) {
      const id = p.transfer_id ?? '';
      captures.set(id, [...(captures.get(id) ?? []), p.amount]);
    }
    // The queue of domain events (migration 0039) is not in the typed schema: nothing else reads it as rows.
    const sources = holds.flatMap((h) => HOLD_EVENTS.map((e) => `${e}:${h.id}`));
    const { rows: queued } = await sql<{ source_id: string }>`
      select source_id from event_queue where source_id = any(${sources})`.execute(db);
    const events = new Map<string, string[]>();
    for (const { source_id } of queued) {
      const [type = '', holdId = ''] = source_id.split(':');
      events.set(holdId, [...(events.get(holdId) ?? []), type]);
    }
    return { ...(await walletBalances(db, { payer: ids.payer, payee: ids.payee })), holds, captures, events };
  });
}

/** The money: what was deposited is where the holds' fates say, and nothing is negative. */
export function holdMoneyInvariants(ledger: HoldExpiryLedger, funded: bigint): string[] {
  const broken: string[] = [];
  const { payer, payee, holds } = ledger;
  const captured = holds.filter((h) => h.status === 'captured').reduce((s, h) => s + h.captured_amount, 0n);
  const active = holds.filter((h) => h.status === 'active').reduce((s, h) => s + h.amount, 0n);
  if (payer.posted + payee.posted !== funded)
    broken.push(
      `money created or destroyed: payer ${payer.posted} + payee ${payee.posted} != deposited ${funded}`,
    );
  if (payee.posted !== captured) broken.push(`payee holds ${payee.posted}, the captured holds ${captured}`);
  if (payer.pending !== active)
    broken.push(
      `payer's pending ${payer.pending} != its active holds ${active} (a hold's funds returned twice or never)`,
    );
  if (payer.posted - payer.pending < 0n)
    broken.push(`payer's available balance is negative (${payer.posted - payer.pending})`);
  if (payee.posted < 0n || payee.pending !== 0n)
    broken.push(`payee's balance is off (${payee.posted}/${payee.pending})`);
  return broken;
}

/**
 * Each hold: ended once (one status event, the journal agrees), never expired early, never
 * captured late, and ended by the first completed sweep that started after its expiry at the
 * latest. The hold's `updated_at` is the start of the transaction that ended it: a transaction
 * that held the hold's lock while that sweep ran (which then skips it) started before the sweep
 * ended, so `updated_at` after the sweep's end means the sweep passed over an unlocked due hold.
 */
export function holdFateInvariants(
  ledger: HoldExpiryLedger,
  sweeps: readonly SweepRecord[],
  actors: readonly (ActorRecord | undefined)[],
): string[] {
  const broken: string[] = [];
  ledger.holds.forEach((hold, i) => {
    const name = `hold ${i} (${hold.status}, expires ${hold.expires_at.toISOString()})`;
    const captures = ledger.captures.get(hold.transfer_id) ?? [];
    if (hold.status === 'captured') {
      if (captures.length !== 1 || captures[0] !== hold.captured_amount)
        broken.push(`${name}: captured, but the journal shows captures [${captures.join(', ')}]`);
      if (hold.updated_at >= hold.expires_at) broken.push(`${name}: captured after its expiry`);
    } else if (captures.length > 0) {
      broken.push(`${name}: not captured, but the journal shows captures [${captures.join(', ')}]`);
    }
    const events = (ledger.events.get(hold.id) ?? []).filter((e) => e !== 'hold.created').sort();
    const expected = hold.status === 'active' ? [] : [`hold.${hold.status}`];
    if (events.join() !== expected.join())
      broken.push(`${name}: status events [${events.join(', ')}], expected [${expected.join(', ')}]`);
    if (hold.status === 'expired' && hold.updated_at < hold.expires_at)
      broken.push(`${name}: expired early, at ${hold.updated_at.toISOString()}`);

    const due = sweeps.find((s) => s.ended === 'completed' && s.startedAt >= hold.expires_at.getTime());
    if (due) {
      if (hold.status === 'active')
        broken.push(`${name}: still active after sweep ${due.index}, which started after its expiry`);
      else if (hold.updated_at.getTime() > due.finishedAt)
        broken.push(
          `${name}: outlived sweep ${due.index}, which started after its expiry (ended at ${hold.updated_at.toISOString()}, the sweep by ${new Date(due.finishedAt).toISOString()})`,
        );
    }

    const actor = actors[i];
    if (!actor) {
      if (hold.status !== 'active' && hold.status !== 'expired')
        broken.push(`${name}: nobody captured or released it`);
      return;
    }
    const agrees: Record<string, boolean> = {
      'capture:captured': hold.status === 'captured',
      'capture:hold_not_active': hold.status === 'expired',
      'release:released': hold.status === 'released',
      'release:not_released': hold.status === 'expired',
    };
    if (agrees[`${actor.action}:${actor.answer}`] !== true)
      broken.push(`${name}: the actor's ${actor.action} answered ${actor.status} ${actor.answer}`);
  });
  return broken;
}
