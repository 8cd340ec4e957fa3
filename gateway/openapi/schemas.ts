/**
 * The public contract (docs/api.md) as zod schemas. The same objects validate requests
 * and generate /openapi.json, so the document cannot drift from what the routes accept.
 */
import { z } from '@hono/zod-openapi';
import { currencySchema as moneyCurrency } from '../../lib/money.js';
import { STEP_ERROR_MESSAGES, type StepErrorCode } from '../transfers/public-transfer.js';

/**
 * The largest amount the public API accepts: 2^53 − 1 minor units. Every amount then stays
 * exact wherever it becomes a number (the `TransferAmount` search attribute, JSON clients that
 * parse it), and the wallet's 64-bit columns are never approached. Larger → `422 amount_too_large`.
 */
export const MAX_PUBLIC_AMOUNT = BigInt(Number.MAX_SAFE_INTEGER);

/** The validation issue the router turns into `422 amount_too_large` instead of `400 validation_failed`. */
export const AMOUNT_TOO_LARGE = 'amount_too_large';

const DIGITS = /^[0-9]+$/;

export const amountSchema = z
  .string({ error: 'must be a string of digits in minor units, e.g. "1050"' })
  .regex(/^[1-9][0-9]*$/, 'must be a positive integer in minor units written as a string of digits')
  // Judged only for well-formed digit strings (a malformed one already has its issue); the
  // length test first, so a long string of digits is refused without building a big integer.
  .refine((s) => !DIGITS.test(s) || (s.length <= 16 && BigInt(s) <= MAX_PUBLIC_AMOUNT), {
    message: `must be at most ${MAX_PUBLIC_AMOUNT} minor units`,
    params: { code: AMOUNT_TOO_LARGE },
  })
  .transform((s) => BigInt(s))
  .openapi({
    type: 'string',
    pattern: '^[1-9][0-9]*$',
    description: `positive integer amount in minor units, as a string of digits ("1050" is 10.50 USD); at most ${MAX_PUBLIC_AMOUNT} (2^53 − 1), larger → 422 amount_too_large`,
    example: '1050',
  });
export const currencySchema = moneyCurrency.openapi({ description: 'ISO 4217 alpha code', example: 'USD' });

/** Ids the gateway passes to upstream paths: opaque, but never anything that could alter a URL. */
export const resourceId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an id')
  .openapi({ example: '0b5f6c1e-7f1a-4c1e-9a55-3f1f1d2f9b10' });

const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z
      .string()
      .openapi({ description: 'stable machine-readable error code', example: 'insufficient_funds' }),
  })
  .catchall(z.unknown())
  .openapi('Problem');

export const WalletSchema = z
  .object({
    id: z.string(),
    user_id: z.string(),
    currency: z.string(),
    status: z.string(),
    balance: z.object({ posted: z.string(), pending: z.string(), available: z.string() }),
    created_at: z.string(),
  })
  .openapi('Wallet');

export const EntrySchema = z
  .object({
    id: z.string(),
    transaction_id: z.string(),
    wallet_id: z.string(),
    amount: z.string(),
    direction: z.enum(['debit', 'credit']),
    kind: z.string(),
    balance_after: z.string(),
    transfer_id: z.string().optional(),
    created_at: z.string(),
  })
  .openapi('Entry');

export const TRANSFER_STATUSES = [
  'pending',
  'awaiting_confirmation',
  'processing',
  'completed',
  'failed',
  'cancelled',
  'compensating',
  'needs_attention',
] as const;

export const TransferSchema = z
  .object({
    id: z.string(),
    status: z.enum(TRANSFER_STATUSES),
    from_wallet_id: z.string(),
    to_wallet_id: z.string(),
    amount: z.string(),
    currency: z.string(),
    description: z.string(),
    steps: z
      .array(
        z.object({
          name: z.string(),
          status: z.string(),
          attempts: z.number().int(),
          error_code: z
            .enum(Object.keys(STEP_ERROR_MESSAGES) as [StepErrorCode, ...StepErrorCode[]])
            .optional()
            .openapi({ description: 'stable code of the step failure' }),
          error: z
            .string()
            .optional()
            .openapi({ description: 'the fixed message of `error_code` (never the internal reason)' }),
        }),
      )
      .openapi({
        description:
          'the saga steps; empty in list items (read one transfer for its steps) and while a transfer has just started',
      }),
    failure_code: z.string().optional(),
    created_at: z.string(),
    completed_at: z.string().optional(),
  })
  .openapi('Transfer');

/** Bodies are strict: unknown fields (user_id, balance, __proto__ …) are refused, not ignored. */
export const CreateTransferBody = z
  .strictObject({
    from_wallet_id: resourceId,
    to_wallet_id: resourceId,
    amount: amountSchema,
    currency: currencySchema,
    description: z.string().max(140).optional(),
  })
  .openapi('CreateTransferRequest');

export const ConfirmTransferBody = z
  .strictObject({ code: z.string().regex(/^[0-9]{4,10}$/, 'must be the digits of the code') })
  .openapi('ConfirmTransferRequest');

export const CreateWalletBody = z.strictObject({ currency: currencySchema }).openapi('CreateWalletRequest');

export const DepositBody = z
  .strictObject({
    amount: amountSchema,
    currency: currencySchema,
    // The deposit's identity with the wallet (and part of its workflow id): visible characters
    // only, no control characters or lone surrogates that could not travel as UTF-8.
    reference: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[^\p{C}]+$/u, 'must be printable text')
      .openapi({
        description: 'external reference (bank transfer id…): one deposit per wallet and reference',
      }),
  })
  .openapi('DepositRequest');

const email = z.string().max(254).pipe(z.email()).openapi({ example: 'ada@example.com' });
const password = z.string().min(1).max(4096);

export const RegisterBody = z
  .strictObject({
    email,
    password,
    phone: z
      .string()
      .regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 number such as +14155550100')
      .optional(),
    currency: currencySchema
      .optional()
      .openapi({ description: 'currency of the default wallet (USD if omitted)' }),
  })
  .openapi('RegisterRequest');

export const RegisterResponse = z
  .object({ user_id: z.string(), wallet_id: z.string(), status: z.string() })
  .openapi('RegisterResponse');

export const LoginBody = z.strictObject({ email: z.string().max(254), password }).openapi('LoginRequest');

export const OtpVerifyBody = z
  .strictObject({ challenge_id: z.string().min(1).max(64), code: z.string().min(1).max(16) })
  .openapi('OtpVerifyRequest');

export const LogoutBody = z
  .strictObject({ refresh_token: z.string().min(1).max(4096).optional() })
  .openapi('LogoutRequest');

export const OtpSendBody = z
  .strictObject({ email: z.string().max(254), purpose: z.literal('verify_email') })
  .openapi('OtpSendRequest');

export const MfaBody = z.strictObject({ password, enabled: z.boolean() }).openapi('MfaRequest');

// Password change and reset: AuthService applies the password policy and the code checks; the
// gateway bounds sizes and refuses unknown fields.
export const PasswordChangeBody = z
  .strictObject({ current_password: password, new_password: password })
  .openapi('PasswordChangeRequest');

export const PasswordResetBody = z
  .strictObject({ email: z.string().max(254).openapi({ example: 'ada@example.com' }) })
  .openapi('PasswordResetRequest');

export const PasswordResetAccepted = z
  .object({
    expires_at: z
      .string()
      .openapi({ description: 'when a code sent now stops working (the same answer for any email)' }),
  })
  .openapi('PasswordResetAccepted');

export const PasswordResetConfirmBody = z
  .strictObject({
    email: z.string().max(254).openapi({ example: 'ada@example.com' }),
    code: z.string().min(1).max(16).openapi({ description: 'the emailed code', example: '123456' }),
    new_password: password,
  })
  .openapi('PasswordResetConfirmRequest');

/** RFC 7009 revocation / RFC 7662 introspection requests (client auth in the body or HTTP Basic). */
export const TokenOperationBody = z
  .object({
    token: z.string().min(1).max(4096),
    token_type_hint: z.enum(['access_token', 'refresh_token']).optional(),
    client_id: z.string().max(256).optional(),
    client_secret: z.string().max(1024).optional(),
  })
  .openapi('TokenOperationRequest');

export const AuthorizeQuery = z.object({
  response_type: z.string().max(64).optional(),
  client_id: z.string().max(256).optional(),
  redirect_uri: z.string().max(2048).optional(),
  scope: z.string().max(1024).optional(),
  state: z.string().max(1024).optional(),
  nonce: z.string().max(1024).optional(),
  code_challenge: z.string().max(128).optional(),
  code_challenge_method: z.string().max(16).optional(),
});

export const AuthorizeForm = z
  .object({
    request_id: z.string().max(256),
    email: z.string().max(254).optional(),
    password: z.string().max(4096).optional(),
    challenge_id: z.string().max(256).optional(),
    code: z.string().max(16).optional(),
  })
  .openapi('AuthorizeForm');

export const TokenRequestBody = z
  .object({
    grant_type: z.enum(['refresh_token', 'client_credentials', 'authorization_code']),
    refresh_token: z.string().max(4096).optional(),
    scope: z.string().max(1024).optional(),
    code: z.string().max(4096).optional(),
    code_verifier: z.string().max(256).optional(),
    redirect_uri: z.string().max(2048).optional(),
    client_id: z.string().max(256).optional(),
    client_secret: z.string().max(1024).optional(),
  })
  .openapi('TokenRequest');

export const TokenResponse = z
  .object({
    access_token: z.string().optional(),
    refresh_token: z.string().optional(),
    token_type: z.string().optional(),
    expires_in: z.number().optional(),
    mfa_required: z.boolean().optional(),
    challenge_id: z.string().optional(),
  })
  .catchall(z.unknown())
  .openapi('TokenResponse');

export const MeResponse = z
  .object({ user_id: z.string(), email: z.string(), roles: z.array(z.string()), mfa_enabled: z.boolean() })
  .catchall(z.unknown())
  .openapi('Me');

export const IdempotencyKeyHeader = z.object({
  'idempotency-key': z.string().optional().openapi({
    description: 'required: 1–255 visible ASCII characters, scoped to the caller',
    example: 'b6a1e3c0-order-42',
  }),
});

export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: 'problem', content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  ) as Record<
    number,
    { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema } } }
  >;

/**
 * Problem responses that name the codes a route answers with, so every refusal a client must
 * handle is in the document (`{ 422: ['amount_too_large', …] }`).
 */
export const problemCodes = (codes: Record<number, readonly string[]>) =>
  Object.fromEntries(
    Object.entries(codes).map(([status, list]) => [
      status,
      {
        description: `problem; \`code\` is one of ${list.map((code) => `\`${code}\``).join(', ')}`,
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    ]),
  ) as ReturnType<typeof problemResponses>;
