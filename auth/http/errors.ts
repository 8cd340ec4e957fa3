import { ProblemError } from '../../lib/problem.js';

/** Throws the problem for an expected failure; `onError` renders it once. */
export function fail(
  status: number,
  code: string,
  detail: string,
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): never {
  throw new ProblemError(status, code, detail, extensions, headers);
}

/** Headers every response carrying tokens must have (RFC 6749 §5.1). */
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;
