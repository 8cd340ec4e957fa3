import { z } from '@hono/zod-openapi';
import { WITHDRAWAL_STATUSES, type Withdrawal } from '../../workflows/withdrawal-contract.js';
import { publicErrorCode, STEP_ERROR_MESSAGES } from '../transfers/public-transfer.js';

/** Step codes only withdrawals report, with the only words the public API says about them. */
const WITHDRAWAL_STEP_MESSAGES: Record<string, string> = {
  payout_rejected: 'the payout provider refused the payout',
  payout_timeout: 'the payout provider did not confirm the payout in time; the funds were released',
  wallet_closed: STEP_ERROR_MESSAGES.wallet_closed,
};

export const WithdrawalSchema = z
  .object({
    id: z.string(),
    status: z.enum(WITHDRAWAL_STATUSES),
    wallet_id: z.string(),
    amount: z.string(),
    currency: z.string(),
    destination: z.object({ account_holder: z.string(), iban_last4: z.string() }),
    description: z.string(),
    steps: z.array(
      z.object({
        name: z.string(),
        status: z.string(),
        attempts: z.number().int(),
        error_code: z.string().optional(),
        error: z.string().optional(),
      }),
    ),
    failure_code: z.string().optional().openapi({ description: 'adds `payout_rejected`, `payout_timeout`' }),
    provider_reference: z
      .string()
      .optional()
      .openapi({ description: "the payout provider's id of the payout" }),
    created_at: z.string(),
    completed_at: z.string().optional(),
  })
  .openapi('Withdrawal');

/**
 * The client's view of a withdrawal: operator-only parts (the raw step reasons, the attention
 * evidence) stay in Temporal; each step error is its code and a fixed message.
 */
export function publicWithdrawal(w: Withdrawal) {
  const { attention: _operatorsOnly, ...rest } = w;
  return {
    ...rest,
    steps: w.steps.map(({ name, status, attempts, error_code }) => {
      if (error_code === undefined) return { name, status, attempts };
      const code = Object.hasOwn(WITHDRAWAL_STEP_MESSAGES, error_code)
        ? error_code
        : publicErrorCode(error_code);
      const error =
        WITHDRAWAL_STEP_MESSAGES[code] ?? STEP_ERROR_MESSAGES[code as keyof typeof STEP_ERROR_MESSAGES];
      return { name, status, attempts, error_code: code, error };
    }),
  };
}
