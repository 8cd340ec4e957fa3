import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { api, login } from './api-client.js';
import { requiredEnv } from './test-env.js';

/** An access token of the admin the e2e stack seeds (TEST_STACK_ADMIN_*). */
export function loginAsAdmin(): Promise<string> {
  return login(requiredEnv('TEST_STACK_ADMIN_EMAIL'), requiredEnv('TEST_STACK_ADMIN_PASSWORD'));
}

/**
 * Funds a wallet the way an e2e file starts: the seeded admin deposits `amount` USD minor units
 * under a fresh reference and key (`label` names the file in the reference), and it must be
 * accepted.
 */
export async function depositAsAdmin(walletId: string, amount: string, label: string): Promise<void> {
  const deposit = await api('POST', `/v1/admin/wallets/${walletId}/deposits`, {
    token: await loginAsAdmin(),
    idempotencyKey: randomUUID(),
    body: { amount, currency: 'USD', reference: `${label}-${randomUUID()}` },
  });
  expect(deposit.status).toBe(201);
}
