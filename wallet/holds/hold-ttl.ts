import { z } from 'zod';

/**
 * The longest a hold may stay active: a week. Holds end with their transfer's capture or release
 * in seconds; the bound keeps a forgotten hold from pinning a balance indefinitely.
 */
export const MAX_HOLD_TTL_SECONDS = 7 * 24 * 3600;

/** `hold_ttl_seconds` of a reserve (transfer, withdrawal, reversal): 1 s to a week. */
export const holdTtlSecondsSchema = z.number().int().min(1).max(MAX_HOLD_TTL_SECONDS);
