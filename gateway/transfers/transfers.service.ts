/**
 * What `/v1/transfers` does, behind the routes: every transfer is a `transferWorkflow`, read
 * back with its query, from visibility, or — once Temporal no longer knows it — from its
 * durable record in WalletService.
 */
import type { Context } from 'hono';
import type { Principal } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';
import type { Transfer } from '../../workflows/transfer-contract.js';
import type { GatewayEnv } from '../http/request-context.js';
import type { Upstream } from '../http/upstream.js';
import { withinDeadline } from '../temporal/idempotency.js';
import type { Orchestrator } from '../temporal/orchestrator.js';
import { createTransferLister, type ListTransfers } from './transfer-list.js';
import { describeOwnedTransfer, readTransfer } from './transfer-reader.js';
import { readOwnedRecord } from './transfer-records.js';
import { createTransferStarter, type StartTransfer } from './transfer-start.js';
import { createTransferUpdates } from './transfer-updates.js';

export interface TransferService {
  start: StartTransfer;
  /** A transfer its initiator (or an admin) may read; 404 `transfer_not_found` otherwise. */
  get(c: Context<GatewayEnv>, transferId: string, principal: Principal): Promise<Transfer>;
  list: ListTransfers;
  /** The step-up code, for the initiator only. */
  confirm(transferId: string, principal: Principal, code: string): Promise<Transfer>;
  /** Cancels before the funds are captured, for the initiator only. */
  cancel(transferId: string, principal: Principal): Promise<Transfer>;
}

export interface TransferServiceDeps extends Pick<
  Orchestrator,
  'temporal' | 'taskQueue' | 'rpcMs' | 'inputKey'
> {
  /** WalletService: the durable records of transfers Temporal no longer knows. */
  wallet: Upstream;
}

export function createTransferService(deps: TransferServiceDeps): TransferService {
  const { temporal, wallet, rpcMs } = deps;
  const updates = createTransferUpdates(deps);
  const findOwned = (id: string, principal: Principal, access: 'read' | 'act') =>
    withinDeadline(temporal, rpcMs, () => describeOwnedTransfer(temporal, id, principal, access));

  return {
    start: createTransferStarter(deps),
    list: createTransferLister(deps),

    async get(c, transferId, principal) {
      let owned;
      try {
        owned = await findOwned(transferId, principal, 'read');
      } catch (err) {
        // Temporal does not know it (retention passed, or deleted): its durable record, same
        // shape, same ownership rule.
        if (!(err instanceof ProblemError && err.problem.code === 'transfer_not_found')) throw err;
        const archived = await readOwnedRecord(wallet, c, transferId, principal);
        if (!archived) throw err;
        return archived;
      }
      return readTransfer(temporal, owned.handle, owned.description, 3000);
    },

    async confirm(transferId, principal, code) {
      const { handle } = await findOwned(transferId, principal, 'act');
      return updates.confirm(handle, code);
    },

    async cancel(transferId, principal) {
      const { handle, description } = await findOwned(transferId, principal, 'act');
      return updates.cancel(handle, description);
    },
  };
}
