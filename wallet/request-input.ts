import { z } from 'zod';

/** A free-text reference or reason: printable, bounded. */
export const referenceSchema = z.string().trim().min(1).max(200);
