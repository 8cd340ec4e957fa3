/**
 * Expected failures of the idempotency-key mechanism. A missing or malformed key is refused
 * before any work by lib/idempotency-key.ts, the same way in every service.
 */
export enum IdempotencyError {
  KeyMismatch = 'idempotency_key_mismatch',
}

export const idempotencyErrorStatus: Record<IdempotencyError, number> = {
  [IdempotencyError.KeyMismatch]: 422,
};

export const idempotencyErrorDetail: Record<IdempotencyError, string> = {
  [IdempotencyError.KeyMismatch]: 'this Idempotency-Key was already used with a different request',
};
