import { otpErrorDetail, otpErrorStatus, type OtpError } from '../otp/otp.errors.js';
import { userErrorDetail, userErrorStatus, type UserError } from '../users/users.errors.js';
import { fail } from './errors.js';

/** The expected failures of the account and OTP services (their codes do not overlap). */
export type DomainError = UserError | OtpError;

const STATUS: Record<DomainError, number> = { ...userErrorStatus, ...otpErrorStatus };
const DETAIL: Record<DomainError, string> = { ...userErrorDetail, ...otpErrorDetail };

/** An expected failure as the services answer it, with what the client is told besides the code. */
export interface DomainFailure {
  error: DomainError;
  /** Wrong codes left (`attempts_left`). */
  attemptsLeft?: number;
  /** When to try again (`Retry-After`). */
  retryAfterSeconds?: number;
  /** Which rule a refused password broke (`reason`). */
  reason?: string;
}

/**
 * Renders an expected failure once, as problem+json with its stable code and status; `extensions`
 * adds fields a route promises beyond these (docs/internal-api.md).
 */
export function refuse(
  failure: DomainFailure | DomainError,
  extensions: Record<string, unknown> = {},
): never {
  const { error, attemptsLeft, retryAfterSeconds, reason } =
    typeof failure === 'string' ? ({ error: failure } as DomainFailure) : failure;
  fail(
    STATUS[error],
    error,
    DETAIL[error],
    {
      ...(attemptsLeft === undefined ? {} : { attempts_left: attemptsLeft }),
      ...(reason === undefined ? {} : { reason }),
      ...extensions,
    },
    retryAfterSeconds ? { 'retry-after': String(retryAfterSeconds) } : {},
  );
}
