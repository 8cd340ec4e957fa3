import { problem, type Problem } from '../../lib/problem.js';
import {
  AdministrationError,
  administrationErrorDetail,
  administrationErrorStatus,
} from '../administration/administration.errors.js';
import { HoldError, holdErrorDetail, holdErrorStatus } from '../holds/holds.errors.js';
import {
  IdempotencyError,
  idempotencyErrorDetail,
  idempotencyErrorStatus,
} from '../idempotency/idempotency.errors.js';
import { LedgerError, ledgerErrorDetail, ledgerErrorStatus } from '../ledger/ledger.errors.js';
import { ReversalError, reversalErrorDetail, reversalErrorStatus } from '../reversals/reversals.errors.js';
import { TransferError, transferErrorDetail, transferErrorStatus } from '../transfers/transfers.errors.js';
import { WalletError, walletErrorDetail, walletErrorStatus } from '../wallets/wallets.errors.js';

/** Every expected failure the wallet service can answer with. */
export type DomainError =
  | WalletError
  | LedgerError
  | HoldError
  | IdempotencyError
  | TransferError
  | AdministrationError
  | ReversalError;

const STATUS: Record<DomainError, number> = {
  ...walletErrorStatus,
  ...ledgerErrorStatus,
  ...holdErrorStatus,
  ...idempotencyErrorStatus,
  ...transferErrorStatus,
  ...administrationErrorStatus,
  ...reversalErrorStatus,
};
const DETAIL: Record<DomainError, string> = {
  ...walletErrorDetail,
  ...ledgerErrorDetail,
  ...holdErrorDetail,
  ...idempotencyErrorDetail,
  ...transferErrorDetail,
  ...administrationErrorDetail,
  ...reversalErrorDetail,
};
const KNOWN: ReadonlySet<string> = new Set<string>([
  ...Object.values(WalletError),
  ...Object.values(LedgerError),
  ...Object.values(HoldError),
  ...Object.values(IdempotencyError),
  ...Object.values(TransferError),
  ...Object.values(AdministrationError),
  ...Object.values(ReversalError),
]);

/** True when a service result is an expected failure rather than a value. */
export function isDomainError(value: unknown): value is DomainError {
  return typeof value === 'string' && KNOWN.has(value);
}

/** The one rendering of a domain failure as problem+json. */
export function domainProblem(
  error: DomainError,
  detail?: string,
  extensions: Record<string, unknown> = {},
): Problem {
  return problem(STATUS[error], error, detail ?? DETAIL[error], extensions);
}
