import { z } from 'zod';
import { emailInput, passwordSchema } from '../users/users.schemas.js';

// Strict objects: an extra field (`user_id`, `email` on change) is a 400, never silently applied.
export const passwordChangeBody = z.strictObject({
  current_password: passwordSchema,
  new_password: passwordSchema,
});
export const passwordResetBody = z.strictObject({ email: emailInput });
export const passwordResetConfirmBody = z.strictObject({
  email: emailInput,
  code: z.string().max(16),
  new_password: passwordSchema,
});
