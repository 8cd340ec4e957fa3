/** Expected refusals of a transfer's reversal. */
export enum ReversalError {
  /** No captured transfer with this id: nothing moved that could be moved back. */
  TransferNotCaptured = 'transfer_not_captured',
  /** This transfer has (or had) its reversal: one per transfer. */
  TransferAlreadyReversed = 'transfer_already_reversed',
  /** The destination no longer holds the amount (and a partial reversal was not asked for, or it holds nothing). */
  ReversalInsufficientFunds = 'reversal_insufficient_funds',
  ReversalNotFound = 'reversal_not_found',
  /** The reversal gave up (its hold was released): it cannot be captured any more. */
  ReversalReleased = 'reversal_released',
  /** The reversal moved the money: it cannot be released. */
  ReversalAlreadyCaptured = 'reversal_already_captured',
}

export const reversalErrorStatus: Record<ReversalError, number> = {
  [ReversalError.TransferNotCaptured]: 409,
  [ReversalError.TransferAlreadyReversed]: 409,
  [ReversalError.ReversalInsufficientFunds]: 422,
  [ReversalError.ReversalNotFound]: 404,
  [ReversalError.ReversalReleased]: 409,
  [ReversalError.ReversalAlreadyCaptured]: 409,
};

export const reversalErrorDetail: Record<ReversalError, string> = {
  [ReversalError.TransferNotCaptured]: 'no completed transfer with this id: nothing to reverse',
  [ReversalError.TransferAlreadyReversed]: 'this transfer already has its reversal (one per transfer)',
  [ReversalError.ReversalInsufficientFunds]:
    'the destination wallet no longer holds the amount; a partial reversal must be asked for (allow_partial)',
  [ReversalError.ReversalNotFound]: 'no reversal of this transfer',
  [ReversalError.ReversalReleased]: 'the reversal was given up: its hold is released',
  [ReversalError.ReversalAlreadyCaptured]: 'the reversal already moved the money back',
};
