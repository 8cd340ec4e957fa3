import { z } from 'zod';

/** Emails are bounded (RFC 5321: 254) and validated; normalisation happens in the service. */
export const emailSchema = z.string().max(254).pipe(z.email());
/** Long enough to reach the policy check (which rejects > 128 code points) without accepting megabytes. */
export const passwordSchema = z.string().min(1).max(4096);
export const phoneSchema = z
  .string()
  .regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 number such as +14155550100');

// Strict objects: an extra field (`role`, `status`, `roles`) is a 400, never silently applied.
export const loginBody = z.strictObject({ email: z.string().max(254), password: passwordSchema });
export const registrationBody = z.strictObject({
  email: emailSchema,
  password: passwordSchema,
  phone: phoneSchema.optional(),
});
export const createUserBody = z.strictObject({ registration_id: z.string().max(64) });
export const disableUserBody = z.strictObject({ reason: z.string().min(1).max(500) });
export const logoutBody = z.strictObject({ refresh_token: z.string().max(512).optional() });
export const otpVerifyBody = z.strictObject({ challenge_id: z.string().max(64), code: z.string().max(16) });
export const otpSendBody = z.strictObject({ email: z.string().max(254), purpose: z.literal('verify_email') });
export const mfaBody = z.strictObject({ enabled: z.boolean(), password: passwordSchema });
