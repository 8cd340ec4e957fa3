import { z } from 'zod';

/** The longest email address (RFC 5321: 254). */
export const EMAIL_MAX_LENGTH = 254;
/** Long enough to reach the policy check (which rejects > 128 code points) without accepting megabytes. */
export const PASSWORD_INPUT_MAX_LENGTH = 4096;

/** Emails are bounded and validated; normalisation happens in the service. */
const emailSchema = z.string().max(EMAIL_MAX_LENGTH).pipe(z.email());
/**
 * An email typed into a sign-in or "send me a code" form: bounded, not validated, so a malformed
 * address gets the same answer as an unknown one.
 */
export const emailInput = z.string().max(EMAIL_MAX_LENGTH);
export const passwordSchema = z.string().min(1).max(PASSWORD_INPUT_MAX_LENGTH);
const phoneSchema = z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 number such as +14155550100');

// Strict objects: an extra field (`role`, `status`, `roles`) is a 400, never silently applied.
export const loginBody = z.strictObject({ email: emailInput, password: passwordSchema });
export const registrationBody = z.strictObject({
  email: emailSchema,
  password: passwordSchema,
  phone: phoneSchema.optional(),
});
export const createUserBody = z.strictObject({ registration_id: z.string().max(64) });
export const disableUserBody = z.strictObject({ reason: z.string().min(1).max(500) });
export const logoutBody = z.strictObject({ refresh_token: z.string().max(512).optional() });
export const otpVerifyBody = z.strictObject({ challenge_id: z.string().max(64), code: z.string().max(16) });
export const otpSendBody = z.strictObject({ email: emailInput, purpose: z.literal('verify_email') });
export const mfaBody = z.strictObject({ enabled: z.boolean(), password: passwordSchema });
