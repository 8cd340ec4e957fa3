/**
 * Splits and validates a requested scope against what the client may have; `undefined` means a
 * scope outside it was asked for. Without a request the client gets `fallback`.
 */
export function grantScope(
  requested: string | undefined,
  allowed: readonly string[],
  fallback: readonly string[] = allowed,
): string | undefined {
  if (requested === undefined || requested.trim() === '') return fallback.join(' ');
  const wanted = [...new Set(requested.split(' ').filter(Boolean))];
  return wanted.every((s) => allowed.includes(s)) ? wanted.join(' ') : undefined;
}
