/** Expected OTP failures (values, not exceptions). */
export enum OtpError {
  Invalid = 'otp_invalid',
  Expired = 'otp_expired',
  Exhausted = 'otp_exhausted',
  Cooldown = 'otp_cooldown',
}

export const otpErrorStatus: Record<OtpError, number> = {
  [OtpError.Invalid]: 422,
  [OtpError.Expired]: 422,
  [OtpError.Exhausted]: 422,
  [OtpError.Cooldown]: 429,
};

export const otpErrorDetail: Record<OtpError, string> = {
  [OtpError.Invalid]: 'the code is not correct',
  [OtpError.Expired]: 'the code has expired or does not exist',
  [OtpError.Exhausted]: 'too many wrong codes: try again later',
  [OtpError.Cooldown]: 'a code was sent recently: wait before asking for another',
};
