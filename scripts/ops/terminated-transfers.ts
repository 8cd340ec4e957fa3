/**
 * Operator check: `node --import tsx scripts/ops/terminated-transfers.ts`. A transfer workflow
 * that was terminated (or closed at a timeout) ran no compensation, so its hold may still be
 * active or its capture may have moved money while the transfer reads `failed`. WalletService
 * cannot see Temporal and Temporal cannot see the ledger, so this command asks both: it lists
 * every transfer workflow closed as Terminated or TimedOut, asks WalletService where each one
 * stands (`GET /internal/transfers/:id`: its hold and the credit its capture posted), and
 * prints the report as JSON. Exit 0 when none holds or moved money, 1 when some do, 2 on error.
 *
 * Environment (the worker's names): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, AUTH_URL, WALLET_URL,
 * ORCHESTRATOR_CLIENT_ID, ORCHESTRATOR_CLIENT_SECRET (a client granted `wallet:read`).
 * `SINCE=<ISO time>` checks only workflows closed after it.
 */
import { Connection } from '@temporalio/client';
import { tsToDate } from '@temporalio/common/lib/time.js';
// CommonJS module: Node's ESM loader cannot see its named exports, only the default one.
import protos from '@temporalio/proto';
import { z } from 'zod';
import { env, parseConfig } from '../../lib/config.js';
import { clientCredentialsToken, createHttpClient, type HttpClient } from '../../lib/http-client.js';
import { DEFAULT_NAMESPACE } from '../../temporal-config/index.js';
import { listExecutions } from './visibility.js';

const { temporal } = protos;

const configSchema = z.object({
  TEMPORAL_ADDRESS: env.string('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: env.string(DEFAULT_NAMESPACE),
  AUTH_URL: env.url('http://127.0.0.1:8081'),
  WALLET_URL: env.url('http://127.0.0.1:8082'),
  ORCHESTRATOR_CLIENT_ID: env.string('velora-orchestrator'),
  ORCHESTRATOR_CLIENT_SECRET: env.secret(16),
  SINCE: z.iso.datetime({ offset: true }).optional(),
});

interface HoldView {
  id: string;
  status: 'active' | 'captured' | 'released' | 'expired';
  amount: string;
  wallet_id: string;
  expires_at: string;
}
interface LedgerState {
  hold: HoldView | null;
  capture: { transaction_id: string; to_wallet_id: string; amount: string } | null;
}

/** What an operator must do about one stopped transfer; `settled` needs nothing. */
type Finding = 'hold_active' | 'captured' | 'settled';

interface StoppedTransfer {
  transfer_id: string;
  workflow_id: string;
  execution_status: string;
  closed_at: string | null;
  finding: Finding;
  hold: HoldView | null;
  capture: LedgerState['capture'];
}

/**
 * `hold_active`: funds still reserved (the sweep frees them at `expires_at`, or release them by
 * transfer id now); `captured`: the money moved although the transfer reads failed (tell the
 * customer it completed, or reverse it); `settled`: nothing held, nothing moved.
 */
function finding(state: LedgerState): Finding {
  if (state.capture || state.hold?.status === 'captured') return 'captured';
  if (state.hold?.status === 'active') return 'hold_active';
  return 'settled';
}

async function ledgerState(wallet: HttpClient, transferId: string): Promise<LedgerState> {
  const res = await wallet.request<LedgerState>(
    'GET',
    `/internal/transfers/${encodeURIComponent(transferId)}`,
  );
  if (!res.ok) throw new Error(`WalletService answered ${res.status} for transfer ${transferId}`);
  return res.data;
}

async function main(): Promise<number> {
  const config = parseConfig('terminated-transfers', configSchema);
  const token = clientCredentialsToken({
    tokenUrl: new URL('/v1/auth/token', config.AUTH_URL).toString(),
    clientId: config.ORCHESTRATOR_CLIENT_ID,
    clientSecret: config.ORCHESTRATOR_CLIENT_SECRET,
    scope: 'wallet:read',
  });
  const wallet = createHttpClient({ name: 'wallet', baseUrl: config.WALLET_URL, token });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    // Raw visibility rows (workflow id, status, close time): the memo is encrypted and nothing
    // here needs a payload, so no codec key is involved.
    let query = `WorkflowType = 'transferWorkflow' AND ExecutionStatus IN ('Terminated', 'TimedOut')`;
    if (config.SINCE) query += ` AND CloseTime > '${new Date(config.SINCE).toISOString()}'`;
    const transfers: StoppedTransfer[] = [];
    for await (const wf of listExecutions(connection, config.TEMPORAL_NAMESPACE, query)) {
      const workflowId = wf.execution?.workflowId ?? '';
      const transferId = workflowId.replace(/^transfer-/, '');
      const state = await ledgerState(wallet, transferId);
      const closed = wf.closeTime ? tsToDate(wf.closeTime) : undefined;
      transfers.push({
        transfer_id: transferId,
        workflow_id: workflowId,
        execution_status: temporal.api.enums.v1.WorkflowExecutionStatus[wf.status ?? 0] ?? 'unknown',
        closed_at: closed?.toISOString() ?? null,
        finding: finding(state),
        hold: state.hold,
        capture: state.capture,
      });
    }
    const flagged = transfers.filter((t) => t.finding !== 'settled');
    process.stdout.write(
      `${JSON.stringify({ ok: flagged.length === 0, checked: transfers.length, flagged }, null, 2)}\n`,
    );
    return flagged.length === 0 ? 0 : 1;
  } finally {
    await connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
