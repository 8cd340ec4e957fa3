import { z } from 'zod';
import { OTP_PURPOSES } from './otp.service.js';

export const internalOtpSendBody = z.strictObject({
  user_id: z.string().max(64),
  purpose: z.enum(['step_up', 'verify_email']),
  reference: z.string().min(1).max(200),
});

export const internalOtpVerifyBody = z.strictObject({
  challenge_id: z.string().max(64),
  user_id: z.string().max(64),
  // A password-reset code is answered only through /v1/auth/password/reset/confirm, which sets
  // the new password in the same step: no service may consume one elsewhere.
  purpose: z.enum(OTP_PURPOSES).exclude(['password_reset']),
  code: z.string().max(16),
});
