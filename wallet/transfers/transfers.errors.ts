/** Expected refusals of a transfer's reserve (authorize + reserve in one call). */
export enum TransferError {
  /** The caller does not own the source wallet, or source and destination are the same wallet. */
  NotAuthorized = 'not_authorized',
  /** Per-transfer or rolling daily limit; the problem says which in its `limit` extension. */
  LimitExceeded = 'limit_exceeded',
  /** This transfer id already has its hold (reserved under another idempotency key). */
  TransferAlreadyReserved = 'transfer_already_reserved',
  /** This transfer id was already released (the saga gave up on it): no hold may be placed for it. */
  TransferReleased = 'transfer_released',
}

export const transferErrorStatus: Record<TransferError, number> = {
  [TransferError.NotAuthorized]: 403,
  [TransferError.LimitExceeded]: 422,
  [TransferError.TransferAlreadyReserved]: 409,
  [TransferError.TransferReleased]: 409,
};

export const transferErrorDetail: Record<TransferError, string> = {
  [TransferError.NotAuthorized]: 'the user may not move money from this wallet to that wallet',
  [TransferError.LimitExceeded]: 'the transfer exceeds the user’s limit',
  [TransferError.TransferAlreadyReserved]: 'this transfer already has a hold',
  [TransferError.TransferReleased]: 'this transfer was released: it can no longer reserve funds',
};
