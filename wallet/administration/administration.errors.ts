/** Expected refusals of wallet administration (besides WalletError's not found / closed). */
export enum AdministrationError {
  /** Close asked of a wallet with a balance or an active hold. */
  WalletNotEmpty = 'wallet_not_empty',
}

export const administrationErrorStatus: Record<AdministrationError, number> = {
  [AdministrationError.WalletNotEmpty]: 409,
};

export const administrationErrorDetail: Record<AdministrationError, string> = {
  [AdministrationError.WalletNotEmpty]:
    'the wallet still has a balance or an active hold: only an empty wallet can be closed',
};
