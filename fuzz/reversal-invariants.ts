/**
 * The money invariants of one fuzzed reversal, read from WalletService's own tables (its
 * database, read-only): the transfer's two wallets, the reversal's row, its holds on the payee
 * and its journal entries. Each check returns the broken promise as a sentence.
 */
import type { Reversal } from '../workflows/reversal-contract.js';
import type { WalletHarness } from '../wallet/testing/wallet-harness.js';
import { holdsOf, readLedgerSnapshot, walletBalances, walletPostings } from './ledger-snapshot.js';
import type { RunEnd } from './scenario-support.js';

export interface ReversalLedger {
  payer: { posted: bigint; pending: bigint };
  payee: { posted: bigint; pending: bigint };
  /** The reversal's row (one per transfer), if a hold was ever placed. */
  row?: { status: string; amount: bigint; hold_id: string; transaction_id: string | null };
  /** Holds the reversal placed on the payee (`reversal:<transfer id>`), one per attempt that held. */
  holds: { id: string; status: string; amount: bigint }[];
  /** Journal transactions of kind `reversal` for the transfer: what each moved back to the payer. */
  moves: { id: string; amount: bigint }[];
}

/** Reads what the ledger says about one transfer's reversal and its two wallets, in one snapshot. */
export function readReversalLedger(
  wallet: WalletHarness,
  ids: { transferId: string; payer: string; payee: string },
): Promise<ReversalLedger> {
  return readLedgerSnapshot(wallet, async (db) => {
    const row = await db
      .selectFrom('transfer_reversals')
      .select(['status', 'amount', 'hold_id', 'transaction_id'])
      .where('transfer_id', '=', ids.transferId)
      .executeTakeFirst();
    const moves = await walletPostings(db, ids.payer, 'reversal', { transferIds: [ids.transferId] });
    return {
      ...(await walletBalances(db, { payer: ids.payer, payee: ids.payee })),
      ...(row ? { row: { ...row, amount: BigInt(row.amount) } } : {}),
      holds: await holdsOf(db, [`reversal:${ids.transferId}`]),
      moves: moves.map((m) => ({ id: m.transaction_id, amount: m.amount })),
    };
  });
}

/**
 * Whatever happened: the money moved back at most once and at most the transfer's amount,
 * nothing was created or lost, no balance went negative, every held unit is an active hold, and
 * the reversal's row agrees with the journal.
 */
export function reversalMoneyInvariants(
  ledger: ReversalLedger,
  expect: { amount: bigint; total: bigint; payerAfterTransfer: bigint },
): string[] {
  const broken: string[] = [];
  const { payer, payee, row, holds, moves } = ledger;
  if (moves.length > 1) broken.push(`the transfer was reversed ${moves.length} times`);
  const moved = moves[0]?.amount ?? 0n;
  if (moved < 0n || moved > expect.amount)
    broken.push(`the reversal moved ${moved} back, the transfer moved ${expect.amount}`);
  if (payer.posted + payee.posted !== expect.total)
    broken.push(
      `money created or destroyed: payer ${payer.posted} + payee ${payee.posted} != ${expect.total}`,
    );
  if (payer.posted !== expect.payerAfterTransfer + moved)
    broken.push(
      `payer posted ${payer.posted} != ${expect.payerAfterTransfer} after the transfer + ${moved} moved back`,
    );
  for (const [who, w] of [
    ['payer', payer],
    ['payee', payee],
  ] as const) {
    if (w.posted - w.pending < 0n)
      broken.push(`${who}'s available balance is negative (${w.posted - w.pending})`);
  }
  const held = holds.filter((h) => h.status === 'active').reduce((sum, h) => sum + h.amount, 0n);
  if (payee.pending !== held)
    broken.push(`payee's pending ${payee.pending} != the reversal's active holds ${held}`);
  const captured = holds.filter((h) => h.status === 'captured');
  if (captured.length !== moves.length)
    broken.push(`${captured.length} captured reversal hold(s), ${moves.length} reversal(s) in the journal`);
  if (holds.filter((h) => h.status === 'active' || h.status === 'captured').length > 1)
    broken.push('more than one reversal hold active or captured at once');
  const move = moves[0];
  if (move) {
    if (row?.status !== 'completed' || row.transaction_id !== move.id || row.amount !== move.amount)
      broken.push(
        `the journal moved ${move.amount} back (${move.id}), the reversal row says ${JSON.stringify(row)}`,
      );
    if (captured[0] && captured[0].amount !== move.amount)
      broken.push(`the captured hold held ${captured[0].amount}, ${move.amount} moved back`);
  } else if (row?.status === 'completed')
    broken.push('the reversal row is completed, the journal has no reversal');
  return broken;
}

/** What one attempt's workflow ended as, seen by its client. */
export type AttemptEnd = RunEnd<Reversal>;

/**
 * An attempt's end agrees with the ledger: `completed` names the one move back, of the amount
 * it says (all of the transfer unless partial was allowed); `failed` has a code it may fail
 * with and left its hold inactive, and nothing moved unless another attempt did it.
 */
export function reversalAttemptInvariants(
  who: string,
  view: Reversal,
  ledger: ReversalLedger,
  expect: { amount: bigint; codes: ReadonlySet<string>; movedElsewhere: boolean },
): string[] {
  const broken: string[] = [];
  const move = ledger.moves[0];
  switch (view.status) {
    case 'completed':
      if (!move) broken.push(`${who} completed, but the journal shows no reversal`);
      else {
        if (view.transaction_id !== move.id)
          broken.push(
            `${who} completed with transaction ${view.transaction_id}, the journal's is ${move.id}`,
          );
        if (view.amount !== String(move.amount))
          broken.push(`${who} completed for ${view.amount}, the journal moved ${move.amount}`);
        if (!view.allow_partial && move.amount !== expect.amount)
          broken.push(
            `${who} moved ${move.amount} back without allow_partial, the transfer was ${expect.amount}`,
          );
      }
      if (view.transfer_amount !== String(expect.amount))
        broken.push(`${who} reports the transfer amount ${view.transfer_amount}`);
      break;
    case 'failed':
      if (view.failure_code === undefined) broken.push(`${who} failed without a failure code`);
      else if (!expect.codes.has(view.failure_code))
        broken.push(`${who} failed with ${view.failure_code}, which nothing in its schedule explains`);
      if (move && !expect.movedElsewhere)
        broken.push(`${who} failed, yet the money moved back and no other attempt did it`);
      if (ledger.row?.status === 'held' && !expect.movedElsewhere)
        broken.push(`${who} failed with its hold still held (money stuck in pending)`);
      break;
    default:
      broken.push(`${who} ended ${view.status}: neither completed nor failed`);
  }
  return broken;
}

/**
 * A reversal waiting in `needs_attention` (its release refused) keeps the payee's money held,
 * not moved: the hold is active and nothing went back to the payer.
 */
export function reversalParkedInvariants(view: Reversal, ledger: ReversalLedger): string[] {
  const broken: string[] = [];
  if (ledger.moves.length > 0 && view.transaction_id === undefined)
    broken.push('parked in needs_attention while the journal shows the money moved back: a lost capture');
  if (
    ledger.row?.status === 'held' &&
    !ledger.holds.some((h) => h.id === ledger.row?.hold_id && h.status === 'active')
  )
    broken.push('parked with the reversal held, but its hold is not active');
  return broken;
}
