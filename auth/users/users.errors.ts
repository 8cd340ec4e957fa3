/** Expected failures of account operations (values, not exceptions). */
export enum UserError {
  NotFound = 'user_not_found',
  RegistrationNotFound = 'registration_not_found',
  WeakPassword = 'weak_password',
  InvalidCredentials = 'invalid_credentials',
  AccountLocked = 'account_locked',
  AccountNotActive = 'account_not_active',
  UserDisabled = 'user_disabled',
}

export const userErrorStatus: Record<UserError, number> = {
  [UserError.NotFound]: 404,
  [UserError.RegistrationNotFound]: 404,
  [UserError.WeakPassword]: 422,
  [UserError.InvalidCredentials]: 401,
  [UserError.AccountLocked]: 429,
  [UserError.AccountNotActive]: 403,
  [UserError.UserDisabled]: 409,
};

export const userErrorDetail: Record<UserError, string> = {
  [UserError.NotFound]: 'no such user',
  [UserError.RegistrationNotFound]: 'the registration does not exist or has expired',
  [UserError.WeakPassword]: 'the password does not meet the password policy',
  // One message for unknown email and wrong password: no user enumeration.
  [UserError.InvalidCredentials]: 'the email or password is not correct',
  [UserError.AccountLocked]: 'too many failed attempts: try again later',
  [UserError.AccountNotActive]: 'the account is not active',
  [UserError.UserDisabled]: 'the account is disabled',
};
