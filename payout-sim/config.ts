/** Configuration of the payout provider simulator, parsed once from the environment. */
import { z } from 'zod';
import { env, parseConfig } from '../lib/config.js';

export const payoutSimConfigSchema = z.object({
  LOG_LEVEL: env.logLevel(),
  PAYOUT_SIM_HOST: env.string('127.0.0.1'),
  PAYOUT_SIM_PORT: env.port(8085),
  /** Where results are delivered: the gateway's `POST /v1/webhooks/payouts`. */
  PAYOUT_SIM_WEBHOOK_URL: env.url('http://127.0.0.1:8080/v1/webhooks/payouts'),
  /** HMAC key of the webhook signature (the gateway holds the same). */
  PAYOUT_WEBHOOK_SECRET: env.secret(32),
  /** Bearer key the orchestrator's payout calls (and the admin endpoint) must carry. */
  PAYOUT_PROVIDER_API_KEY: env.secret(16),
  /**
   * Where the simulator keeps its payouts and fault rules across restarts (the local stack sets
   * one per profile); unset: in memory only.
   */
  PAYOUT_SIM_STATE_FILE: env.optional(z.string().min(1)),
  /** How long after acceptance a payout settles or is rejected. */
  PAYOUT_SIM_SETTLE_DELAY_MS: env.int(2000),
  /** Share of payouts rejected (0…1), e.g. 0.1 for one in ten. */
  PAYOUT_SIM_REJECT_RATIO: z.coerce.number().min(0).max(1).default(0),
  /** Webhook deliveries per result before giving up (each retry waits twice as long, ≤ 30 s). */
  PAYOUT_SIM_WEBHOOK_ATTEMPTS: env.int(10),
  PAYOUT_SIM_WEBHOOK_FIRST_RETRY_MS: env.int(500),
});

export type PayoutSimConfig = Readonly<z.infer<typeof payoutSimConfigSchema>>;

export function loadPayoutSimConfig(
  source: Record<string, string | undefined> = process.env,
): PayoutSimConfig {
  return parseConfig('payout-sim', payoutSimConfigSchema, source);
}
