/**
 * Money moving between e2e users the way a client moves it: a funded payer and a payee, a
 * transfer sent with a fresh Idempotency-Key that waits for its outcome, and a poll until it has
 * the status a test waits for.
 */
import { randomUUID } from 'node:crypto';
import type { Transfer } from '../../workflows/transfer-contract.js';
import { api, eventually, registerAndLogin, type ApiResponse, type RegisteredUser } from './api-client.js';
import { depositAsAdmin } from './funding.js';

/**
 * Registers a payer and a payee (`label` names the file in their emails and the deposit's
 * reference) and has the admin deposit `amount` USD minor units into the payer's wallet.
 */
export async function fundedPair(
  label: string,
  amount: string,
): Promise<{ payer: RegisteredUser; payee: RegisteredUser }> {
  const [payer, payee] = await Promise.all([
    registerAndLogin(`${label}-payer`),
    registerAndLogin(`${label}-payee`),
  ]);
  await depositAsAdmin(payer.walletId, amount, label);
  return { payer, payee };
}

/** `POST /v1/transfers` in USD as `from`, with a fresh Idempotency-Key and `Prefer: wait=20`. */
export function sendTransfer(
  from: RegisteredUser,
  to: RegisteredUser,
  amount: string,
  description?: string,
): Promise<ApiResponse<Transfer>> {
  return api<Transfer>('POST', '/v1/transfers', {
    token: from.token,
    idempotencyKey: randomUUID(),
    headers: { prefer: 'wait=20' },
    body: {
      from_wallet_id: from.walletId,
      to_wallet_id: to.walletId,
      amount,
      currency: 'USD',
      ...(description === undefined ? {} : { description }),
    },
  });
}

/** Reads the transfer as `reader` until it has `status` (default `completed`). */
export function untilStatus(
  reader: RegisteredUser,
  id: string,
  status: Transfer['status'] = 'completed',
): Promise<ApiResponse<Transfer>> {
  return eventually(
    () => api<Transfer>('GET', `/v1/transfers/${id}`, { token: reader.token }),
    (r) => r.body.status === status,
  );
}
