/**
 * Delivers a payout's result to the webhook as the large providers do: a JSON event signed with
 * `X-Payout-Signature` (lib/payout-webhook-signature.ts), signed again for every attempt (a new
 * timestamp, so a retry is never a replay), retried with doubling waits until a 2xx answer or
 * the attempts run out.
 */
import { PAYOUT_SIGNATURE_HEADER, signPayoutWebhook } from '../lib/payout-webhook-signature.js';
import type { Logger } from '../lib/logger.js';
import type { Payout } from './payout-book.js';

/** The webhook body: what the gateway reads (gateway/withdrawals/payout-webhook.ts). */
export interface PayoutEvent {
  /** One id per result: a duplicate delivery repeats it. */
  event_id: string;
  type: 'payout.settled' | 'payout.rejected';
  reference: string;
  provider_payout_id: string;
  status: 'settled' | 'rejected';
  amount: string;
  currency: string;
  reason?: string;
  occurred_at: string;
}

export function payoutEvent(payout: Payout): PayoutEvent {
  const status = payout.status === 'rejected' ? 'rejected' : 'settled';
  return {
    event_id: `evt_${payout.provider_payout_id}_${status}`,
    type: `payout.${status}`,
    reference: payout.reference,
    provider_payout_id: payout.provider_payout_id,
    status,
    amount: payout.amount,
    currency: payout.currency,
    ...(payout.reason === undefined ? {} : { reason: payout.reason }),
    occurred_at: payout.decided_at ?? new Date().toISOString(),
  };
}

export interface DeliveryOptions {
  url: string;
  secret: string;
  attempts: number;
  firstRetryMs: number;
  log: Logger;
}

/** Sends `event` until the webhook answers 2xx; resolves with the attempts it took (0: gave up). */
export async function deliver(event: PayoutEvent, options: DeliveryOptions): Promise<number> {
  const body = JSON.stringify(event);
  let wait = options.firstRetryMs;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      const res = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [PAYOUT_SIGNATURE_HEADER]: signPayoutWebhook(body, options.secret, Date.now() / 1000),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.ok) {
        options.log.info({ eventId: event.event_id, attempt, status: res.status }, 'webhook delivered');
        return attempt;
      }
      options.log.warn({ eventId: event.event_id, attempt, status: res.status }, 'webhook refused');
    } catch (err) {
      options.log.warn({ eventId: event.event_id, attempt, err: String(err) }, 'webhook unreachable');
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 30_000);
  }
  options.log.error({ eventId: event.event_id, attempts: options.attempts }, 'webhook gave up');
  return 0;
}
