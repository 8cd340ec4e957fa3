import type { Generated, Selectable } from 'kysely';

export type AuditEvent =
  | 'register'
  | 'user_created'
  | 'user_activated'
  | 'user_disabled'
  | 'login'
  | 'lockout'
  | 'mfa_challenge'
  | 'mfa_changed'
  | 'password_changed'
  | 'password_reset_requested'
  | 'password_reset'
  | 'otp_sent'
  | 'otp_verified'
  | 'otp_failed'
  | 'email_verified'
  | 'token_issued'
  | 'refresh'
  | 'refresh_reuse_detected'
  | 'logout'
  | 'revoke'
  | 'authorization_code_issued'
  | 'key_rotation'
  | 'key_removed'
  | 'client_auth';

export type AuditOutcome = 'success' | 'failure';

/** `auth_events`: the audit trail. Never holds a password, code, token or secret. */
export interface AuthEventsTable {
  id: Generated<string>;
  occurred_at: Generated<Date>;
  event: AuditEvent;
  outcome: AuditOutcome;
  subject: string | null;
  client_id: string | null;
  ip: string | null;
  user_agent: string | null;
  /** Short reason code or identifiers (jti, family id, kid); never secret values. */
  details: Record<string, unknown>;
}

export type AuthEventRow = Selectable<AuthEventsTable>;
