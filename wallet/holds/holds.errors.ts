/** Expected failures of hold operations. */
export enum HoldError {
  HoldNotFound = 'hold_not_found',
  HoldNotActive = 'hold_not_active',
  HoldAlreadyCaptured = 'hold_already_captured',
  CaptureExceedsHold = 'capture_exceeds_hold',
}

export const holdErrorStatus: Record<HoldError, number> = {
  [HoldError.HoldNotFound]: 404,
  [HoldError.HoldNotActive]: 409,
  [HoldError.HoldAlreadyCaptured]: 409,
  [HoldError.CaptureExceedsHold]: 422,
};

export const holdErrorDetail: Record<HoldError, string> = {
  [HoldError.HoldNotFound]: 'no such hold',
  [HoldError.HoldNotActive]: 'the hold is no longer active (captured, released or expired)',
  [HoldError.HoldAlreadyCaptured]: 'the hold was captured and cannot be released',
  [HoldError.CaptureExceedsHold]: 'the capture amount exceeds the held amount',
};
