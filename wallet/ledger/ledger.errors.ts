/** Expected failures of journal operations (deposits, reversals). */
export enum LedgerError {
  TransactionNotFound = 'transaction_not_found',
  ReversalNotPossible = 'reversal_not_possible',
  /** A deposit with this reference already credited the wallet, with another amount or currency. */
  DuplicateReference = 'duplicate_reference',
}

export const ledgerErrorStatus: Record<LedgerError, number> = {
  [LedgerError.TransactionNotFound]: 404,
  [LedgerError.ReversalNotPossible]: 409,
  [LedgerError.DuplicateReference]: 409,
};

export const ledgerErrorDetail: Record<LedgerError, string> = {
  [LedgerError.DuplicateReference]:
    'a deposit with this reference already credited the wallet with another amount or currency',
  [LedgerError.TransactionNotFound]: 'no such journal transaction',
  [LedgerError.ReversalNotPossible]:
    'the transaction cannot be reversed (already reversed, a reversal itself, a wallet is not active, or a balance would go negative)',
};
