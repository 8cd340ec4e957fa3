/** Any UUID in its canonical text form; RFC 9562 makes the hex digits case-insensitive on input. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True for a syntactically valid UUID. An id that is not one cannot name any row: callers answer
 * "not found" without asking the database (where it would be a type error, not a miss).
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
