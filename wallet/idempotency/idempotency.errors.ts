/** Expected failures of the idempotency-key mechanism. */
export enum IdempotencyError {
  KeyRequired = 'idempotency_key_required',
  KeyMismatch = 'idempotency_key_mismatch',
}

export const idempotencyErrorStatus: Record<IdempotencyError, number> = {
  [IdempotencyError.KeyRequired]: 400,
  [IdempotencyError.KeyMismatch]: 422,
};

export const idempotencyErrorDetail: Record<IdempotencyError, string> = {
  [IdempotencyError.KeyRequired]: 'an Idempotency-Key header (1 to 255 visible ASCII characters) is required',
  [IdempotencyError.KeyMismatch]: 'this Idempotency-Key was already used with a different request',
};
