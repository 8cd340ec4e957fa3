/** Expected failures of journal operations (reversals). */
export enum LedgerError {
  TransactionNotFound = 'transaction_not_found',
  ReversalNotPossible = 'reversal_not_possible',
}

export const ledgerErrorStatus: Record<LedgerError, number> = {
  [LedgerError.TransactionNotFound]: 404,
  [LedgerError.ReversalNotPossible]: 409,
};

export const ledgerErrorDetail: Record<LedgerError, string> = {
  [LedgerError.TransactionNotFound]: 'no such journal transaction',
  [LedgerError.ReversalNotPossible]:
    'the transaction cannot be reversed (already reversed, a reversal itself, a wallet is not active, or a balance would go negative)',
};
