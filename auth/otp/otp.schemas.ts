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
  purpose: z.enum(OTP_PURPOSES),
  code: z.string().max(16),
});
