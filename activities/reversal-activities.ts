/** Steps of reversalWorkflow: WalletService's reversal hold, capture and release. */
import type { HttpClient } from '../lib/http-client.js';
import { verifyWorkflowInput } from '../lib/workflow-input-signature.js';
import type { Reversal, ReversalAnswer, ReversalReleaseAnswer } from '../wallet/wallet-api.js';
import type { SignedReversalInput } from '../workflows/reversal-contract.js';
import { callUpstream, currentAttempt, domainFailure, idempotencyKey } from './upstream.js';

export interface ReversalActivityDeps {
  wallet: HttpClient;
  /** `WORKFLOW_INPUT_KEY`, decoded: only a reversal the gateway signed moves money. */
  workflowInputKey: Uint8Array;
}

/** How long the destination's funds stay held: far beyond the capture that follows at once. */
const REVERSAL_HOLD_TTL_SECONDS = 3600;

export function createReversalActivities(deps: ReversalActivityDeps) {
  const path = (transferId: string, step: string) =>
    `/internal/transfers/${encodeURIComponent(transferId)}/reversal/${step}`;

  /**
   * Verifies the gateway's signature, then holds the amount on the transfer's destination. A
   * reversal started on Temporal by anyone else is refused `not_authorized` and holds nothing.
   */
  async function holdReversal(input: SignedReversalInput): Promise<{ reversal: Reversal; attempt: number }> {
    if (!verifyWorkflowInput(input, deps.workflowInputKey)) {
      throw domainFailure('not_authorized', 'the reversal input is not signed by the gateway');
    }
    const res = await callUpstream<ReversalAnswer>(deps.wallet, 'POST', path(input.transfer_id, 'hold'), {
      body: {
        allow_partial: input.allow_partial,
        reason: input.reason,
        requested_by: input.requested_by,
        hold_ttl_seconds: REVERSAL_HOLD_TTL_SECONDS,
      },
      idempotencyKey: idempotencyKey('reversal-hold'),
    });
    return { reversal: res.reversal, attempt: currentAttempt() };
  }

  /** The pivot: moves the held amount back to the transfer's source. */
  async function captureReversal(input: {
    transfer_id: string;
  }): Promise<{ reversal: Reversal; attempt: number }> {
    const res = await callUpstream<ReversalAnswer>(deps.wallet, 'POST', path(input.transfer_id, 'capture'), {
      idempotencyKey: idempotencyKey('reversal-capture'),
    });
    return { reversal: res.reversal, attempt: currentAttempt() };
  }

  /** The undo of the hold. */
  async function releaseReversal(input: {
    transfer_id: string;
    round: number;
  }): Promise<{ released: boolean }> {
    // One key per round: a round after an operator's retry asks again instead of replaying.
    return callUpstream<ReversalReleaseAnswer>(deps.wallet, 'POST', path(input.transfer_id, 'release'), {
      idempotencyKey: idempotencyKey(`reversal-release:${input.round}`),
    });
  }

  return { holdReversal, captureReversal, releaseReversal };
}
