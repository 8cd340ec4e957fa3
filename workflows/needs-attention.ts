/**
 * A transfer waiting in `needs_attention` (a release that failed, a capture round that got no
 * answer) and the operator's two ways out: `retryCompensation` (try again now; the transfer also
 * retries by itself after a backoff) and `resolveAsCompleted` (the release found the hold
 * captured: the journal shows whether the money moved).
 */
import { condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import { ledgerCheckActivityOptions } from '../temporal-config/activity-options.js';
import {
  DEFAULT_ATTENTION_RETRY_MS,
  MAX_ATTENTION_RETRY_MS,
  resolveAsCompleted,
  retryCompensation,
  transferUpdateRefusal,
} from './transfer-contract.js';
import type { TransferState } from './transfer-state.js';

type Activities = ReturnType<typeof activities.createActivities>;

const { checkTransferCaptured } = proxyActivities<Activities>({
  ...ledgerCheckActivityOptions,
  summary: 'resolve: read the transfer’s capture from the wallet’s journal',
});

export interface NeedsAttention {
  /**
   * `needs_attention` until an operator signals `retryCompensation`, resolves the transfer, or
   * (when `retries`) the backoff passes: 15 min, doubling up to 4 h.
   */
  wait(retries: boolean): Promise<void>;
  /** Set by `resolveAsCompleted` once the journal shows the capture. */
  readonly resolution: { transaction_id: string } | undefined;
}

/** Registers the operator's signal and update; call it before the workflow's first await. */
export function createNeedsAttention(state: TransferState): NeedsAttention {
  const { input } = state;
  let retryRequested = false;
  /** Automatic retries so far (the backoff doubles each time). */
  let rounds = 0;
  let resolution: { transaction_id: string } | undefined;
  let resolving = false;

  setHandler(retryCompensation, () => {
    if (state.status === 'needs_attention') retryRequested = true;
  });

  setHandler(
    resolveAsCompleted,
    async () => {
      resolving = true;
      try {
        const check = await checkTransferCaptured({
          transfer_id: input.transfer_id,
          to_wallet_id: input.to_wallet_id,
          amount: input.amount,
        });
        if (!check.captured || check.transaction_id === undefined) {
          throw transferUpdateRefusal(
            'not_captured',
            'the wallet’s journal shows no capture of this transfer: fix the cause, then retryCompensation',
          );
        }
        log.warn('resolved as completed by an operator', {
          transferId: input.transfer_id,
          transactionId: check.transaction_id,
        });
        resolution = { transaction_id: check.transaction_id };
        await condition(() => state.status === 'completed');
        return state.view();
      } finally {
        resolving = false;
      }
    },
    {
      validator: () => {
        const waitsOnCapturedHold = [...state.steps.values()].some(
          (s) => s.status === 'compensation_failed' && s.error_code === 'hold_already_captured',
        );
        if (state.status !== 'needs_attention' || !waitsOnCapturedHold || resolving) {
          throw transferUpdateRefusal(
            'not_resolvable',
            'only a transfer waiting in needs_attention on a captured hold (hold_already_captured) can be resolved as completed',
          );
        }
      },
    },
  );

  return {
    get resolution() {
      return resolution;
    },
    async wait(retries) {
      retryRequested = false;
      state.setStatus('needs_attention');
      const woken = () => retryRequested || resolution !== undefined;
      if (retries) {
        const first = input.attention_retry_ms ?? DEFAULT_ATTENTION_RETRY_MS;
        const backoff = Math.min(first * 2 ** rounds, MAX_ATTENTION_RETRY_MS);
        rounds += 1;
        await condition(woken, backoff, { summary: 'needs_attention: automatic retry' });
      } else {
        await condition(woken);
      }
    },
  };
}
