import { createRoute, z } from '@hono/zod-openapi';
import { WorkflowNotFoundError } from '@temporalio/common';
import {
  PAYOUT_SIGNATURE_HEADER,
  PAYOUT_SIGNATURE_TOLERANCE_SECONDS,
  verifyPayoutWebhook,
} from '../../lib/payout-webhook-signature.js';
import type { Logger } from '../../lib/logger.js';
import { ProblemError } from '../../lib/problem.js';
import { payoutResult, payoutResultOf, withdrawalWorkflowId } from '../../workflows/withdrawal-contract.js';
import { createRouter } from '../openapi/router.js';
import { problemCodes, problemResponses } from '../openapi/schemas.js';
import type { Orchestrator } from '../temporal/orchestrator.js';

/** The provider's event (payout-sim/webhook-delivery.ts); unknown fields are ignored, as providers add them. */
const PayoutEventBody = z
  .object({
    event_id: z.string().min(1).max(200),
    type: z.string().max(100).optional(),
    reference: z.string().regex(/^[\x21-\x7E]{1,128}$/),
    provider_payout_id: z.string().min(1).max(200),
    status: z.enum(['settled', 'rejected']),
    amount: z.string().regex(/^[0-9]{1,19}$/),
    currency: z.string().regex(/^[A-Z]{3}$/),
    reason: z.string().max(500).optional(),
    occurred_at: z.string().max(64),
  })
  .openapi('PayoutEvent');

const payoutWebhook = createRoute({
  method: 'post',
  path: '/payouts',
  tags: ['Withdrawals'],
  summary: "The payout provider's result of a withdrawal (provider only)",
  description: `Signed by the provider: \`X-Payout-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">\`. A bad signature, a timestamp more than ${PAYOUT_SIGNATURE_TOLERANCE_SECONDS} s away, or a signature already used → 401. A repeated event (same \`event_id\`, freshly signed) is accepted and changes nothing.`,
  request: {
    headers: z.object({ 'x-payout-signature': z.string().optional() }),
    body: { required: true, content: { 'application/json': { schema: PayoutEventBody } } },
  },
  responses: {
    204: { description: 'result accepted (or already known)' },
    ...problemCodes({ 401: ['invalid_signature', 'stale_signature', 'replayed_signature'] }),
    ...problemResponses(400, 413, 415, 429, 503),
  },
});

/** Remembers signatures seen within the tolerance; true the first time (one gateway process). */
export type ReplayGuard = (signature: string, ttlSeconds: number) => Promise<boolean>;

function memoryReplayGuard(): ReplayGuard {
  const seen = new Map<string, number>();
  return (signature, ttlSeconds) => {
    const now = Date.now();
    for (const [k, until] of seen) if (until < now) seen.delete(k);
    if (seen.has(signature)) return Promise.resolve(false);
    seen.set(signature, now + ttlSeconds * 1000);
    return Promise.resolve(true);
  };
}

/**
 * `POST /v1/webhooks/payouts`: verifies the provider's HMAC over the raw body and its timestamp,
 * refuses a signature seen before (a replay), then signals the withdrawal's workflow with the
 * result. The workflow drops an event id it already has, so the provider's own duplicates are
 * harmless. A result for no running withdrawal is logged at error level (an operator must see a
 * payout Velora cannot book, docs/runbook.md) and acknowledged, so the provider stops retrying.
 */
export function createPayoutWebhookRoutes(deps: {
  orchestrator: Pick<Orchestrator, 'temporal' | 'rpcMs'>;
  log: Logger;
  /** `PAYOUT_WEBHOOK_SECRET`; unset, every event is refused with 503. */
  secret: string | undefined;
  /** Shared across gateway copies (Redis in main.ts); absent, each process remembers its own. */
  replays?: ReplayGuard | undefined;
}) {
  const app = createRouter();
  const { secret, log } = deps;
  const { temporal, rpcMs } = deps.orchestrator;
  const firstUse = deps.replays ?? memoryReplayGuard();

  app.openapi(payoutWebhook, async (c) => {
    if (!secret) throw new ProblemError(503, 'webhook_not_configured', 'PAYOUT_WEBHOOK_SECRET is not set');
    // The MAC covers the exact bytes sent: read them before the JSON is parsed.
    const raw = await c.req.text();
    const check = verifyPayoutWebhook(c.req.header(PAYOUT_SIGNATURE_HEADER), raw, secret, Date.now() / 1000);
    if (!check.ok) {
      log.warn({ reason: check.reason }, 'payout webhook refused');
      throw check.reason === 'stale'
        ? new ProblemError(401, 'stale_signature', 'the signature timestamp is outside the accepted window')
        : new ProblemError(401, 'invalid_signature', 'the payout signature does not verify');
    }
    if (!(await firstUse(`payout-webhook:${check.signature}`, 2 * PAYOUT_SIGNATURE_TOLERANCE_SECONDS))) {
      log.warn('payout webhook replay refused');
      throw new ProblemError(401, 'replayed_signature', 'this signature was already used');
    }
    const parsed = PayoutEventBody.safeParse(JSON.parse(raw));
    if (!parsed.success) throw new ProblemError(400, 'validation_failed', 'not a payout event');
    const event = parsed.data;
    const handle = temporal.workflow.getHandle(withdrawalWorkflowId(event.reference));
    try {
      await temporal.withDeadline(Date.now() + rpcMs, () =>
        handle.signal(payoutResult, payoutResultOf(event)),
      );
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      log.error(
        {
          reference: event.reference,
          eventId: event.event_id,
          status: event.status,
          providerPayoutId: event.provider_payout_id,
          amount: event.amount,
          currency: event.currency,
        },
        'payout result for no running withdrawal: book it by hand (runbook, "Payouts stuck at the provider")',
      );
    }
    return c.body(null, 204);
  });
  return app;
}
