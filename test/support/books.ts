import { expect } from 'vitest';
import { clientCredentialsToken } from '../../lib/http-client.js';
import { eventually } from './api-client.js';
import { requiredEnv, testEnv } from './test-env.js';

interface ReconciliationReport {
  ok: boolean;
  discrepancies: unknown[];
  checked: { pending_relay: number };
}

let token: (() => Promise<string>) | undefined;

/**
 * Asserts that WalletService's reconciliation of the e2e stack finds nothing: postings balance
 * per currency, stored balances match postings and holds, MongoDB holds every entry exactly
 * once, the hash chain is intact. Waits for the outbox relay to catch up first: until the report
 * is clean or nothing is left to relay; with `relayed`, until both (a test that needs every
 * document in MongoDB now, not just books that agree so far).
 */
export async function expectCleanBooks(options: { relayed?: boolean } = {}): Promise<void> {
  token ??= clientCredentialsToken({
    tokenUrl: `${testEnv('authUrl')}/v1/auth/token`,
    clientId: requiredEnv('TEST_STACK_ORCHESTRATOR_CLIENT_ID'),
    clientSecret: requiredEnv('TEST_STACK_ORCHESTRATOR_CLIENT_SECRET'),
    scope: 'wallet:read wallet:admin',
  });
  const serviceToken = token;
  const report = await eventually(
    async () => {
      const res = await fetch(`${testEnv('walletUrl')}/internal/reconciliation`, {
        headers: { authorization: `Bearer ${await serviceToken()}` },
      });
      return (await res.json()) as ReconciliationReport;
    },
    (r) => (options.relayed ? r.ok && r.checked.pending_relay === 0 : r.ok || r.checked.pending_relay === 0),
    60_000,
  );
  expect(report.discrepancies).toEqual([]);
  expect(report.ok).toBe(true);
}
