import { requestFingerprint } from '../idempotency/idempotency.service.js';

/**
 * The fingerprint a reserve that captured at once (`velora_reserve_capture_transfer`, migration
 * 0046) stores the capture's answer under, with the capture's key `<workflowId>:capture`. The
 * hold's id is not known before that call, so it is not part of it: the capture route, whose
 * path fingerprint does not match such a row, asks again with this one and accepts the stored
 * answer only when it is for the hold in its path.
 */
export function capturedAtReserveFingerprint(toWalletId: string, amount: bigint): string {
  return requestFingerprint('POST', '/internal/holds/captured-at-reserve/capture', {
    to_wallet_id: toWalletId,
    amount,
  });
}
