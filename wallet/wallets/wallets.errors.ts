/** Expected failures of wallet operations, returned as values (never thrown). */
export enum WalletError {
  WalletNotFound = 'wallet_not_found',
  WalletFrozen = 'wallet_frozen',
  WalletClosed = 'wallet_closed',
  CurrencyMismatch = 'currency_mismatch',
  InsufficientFunds = 'insufficient_funds',
  SameWallet = 'same_wallet',
}

export const walletErrorStatus: Record<WalletError, number> = {
  [WalletError.WalletNotFound]: 404,
  [WalletError.WalletFrozen]: 409,
  [WalletError.WalletClosed]: 409,
  [WalletError.CurrencyMismatch]: 422,
  [WalletError.InsufficientFunds]: 422,
  [WalletError.SameWallet]: 422,
};

export const walletErrorDetail: Record<WalletError, string> = {
  [WalletError.WalletNotFound]: 'no such wallet',
  [WalletError.WalletFrozen]: 'the wallet is frozen: it can neither send nor receive',
  [WalletError.WalletClosed]: 'the wallet is closed',
  [WalletError.CurrencyMismatch]: 'the currency does not match the wallet currency',
  [WalletError.InsufficientFunds]: 'the available balance does not cover the amount',
  [WalletError.SameWallet]: 'source and destination are the same wallet',
};
