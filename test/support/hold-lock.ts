/**
 * A real WalletService stall for one transfer: a transaction on the e2e stack's wallet database
 * that holds the row lock of the transfer's hold, so the release (`velora_release_transfer`
 * locks that row `for update`) waits until its statement timeout and WalletService answers an
 * error, attempt after attempt, while every other wallet keeps working.
 */
import pg from 'pg';
import { requiredEnv } from './test-env.js';

export interface HoldLock {
  /** Ends the stall (ROLLBACK; nothing was written) and closes the connection. Safe to call twice. */
  end(): Promise<void>;
}

/**
 * Locks the active hold of `transferId`; fails when there is none (nothing would be blocked).
 * Always `end()` it (in a `finally`/`afterAll`): a lock left behind blocks the transfer for the
 * next e2e files too.
 */
export async function lockTransferHold(transferId: string): Promise<HoldLock> {
  const client = new pg.Client({
    connectionString: requiredEnv('TEST_STACK_WALLET_DATABASE_URL'),
    application_name: 'velora-e2e-hold-lock',
  });
  await client.connect();
  let ended = false;
  const end = async () => {
    if (ended) return;
    ended = true;
    try {
      await client.query('rollback');
    } finally {
      await client.end();
    }
  };
  try {
    // The lock must last as long as the test says, not as long as a role default allows an idle
    // transaction to live.
    await client.query('set idle_in_transaction_session_timeout = 0');
    await client.query('begin');
    const locked = await client.query<{ id: string }>(
      `select id from holds where transfer_id = $1 and kind = 'transfer' and status = 'active' for update`,
      [transferId],
    );
    if (locked.rowCount !== 1) throw new Error(`transfer ${transferId} has no active hold to lock`);
  } catch (err) {
    await end();
    throw err;
  }
  return { end };
}
