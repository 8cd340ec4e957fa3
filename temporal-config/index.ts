/**
 * Temporal names shared by workers, workflows, the gateway and the stack scripts. Nothing here
 * does I/O, so workflow code may import it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DEFAULT_NAMESPACE = 'default';
export const TASK_QUEUE = 'velora-orchestrator';

/** Search attributes the stack registers and workflows upsert at every status change. */
export const searchAttributes = {
  TransferStatus: defineSearchAttributeKey('TransferStatus', SearchAttributeType.KEYWORD),
  FromWalletId: defineSearchAttributeKey('FromWalletId', SearchAttributeType.KEYWORD),
  ToWalletId: defineSearchAttributeKey('ToWalletId', SearchAttributeType.KEYWORD),
  TransferAmount: defineSearchAttributeKey('TransferAmount', SearchAttributeType.INT),
  TransferCurrency: defineSearchAttributeKey('TransferCurrency', SearchAttributeType.KEYWORD),
  InitiatedBy: defineSearchAttributeKey('InitiatedBy', SearchAttributeType.KEYWORD),
  /** Set with the terminal status of a failed or cancelled transfer (its `failure_code`). */
  TransferFailureCode: defineSearchAttributeKey('TransferFailureCode', SearchAttributeType.KEYWORD),
  /** A withdrawal's status (workflows/withdrawal-contract.ts); it shares the other keys with transfers. */
  WithdrawalStatus: defineSearchAttributeKey('WithdrawalStatus', SearchAttributeType.KEYWORD),
} as const;

/** `name=Type` pairs in the form `temporal server start-dev --search-attribute` takes. */
export const SEARCH_ATTRIBUTE_DECLARATIONS: Record<keyof typeof searchAttributes, 'Keyword' | 'Int'> = {
  TransferStatus: 'Keyword',
  FromWalletId: 'Keyword',
  ToWalletId: 'Keyword',
  TransferAmount: 'Int',
  TransferCurrency: 'Keyword',
  InitiatedBy: 'Keyword',
  TransferFailureCode: 'Keyword',
  WithdrawalStatus: 'Keyword',
};
