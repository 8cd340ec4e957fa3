/**
 * Moved: the route helpers are wallet/http/idempotent-route.ts, `LedgerFunctionOutcome` is
 * idempotency.service.ts's. This re-export only keeps bench/ledger/ledger-ops.ts compiling until
 * it imports from idempotency.service.ts; then this file goes.
 */
export type { LedgerFunctionOutcome } from './idempotency.service.js';
