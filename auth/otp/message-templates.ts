import type { Notice, NotifierMessage } from './notifier.js';
import { OTP_TTL_SECONDS, type OtpPurpose } from './otp.service.js';

/** An email as a person reads it: plain text, so no client hides or rewrites the code. */
export interface RenderedMessage {
  subject: string;
  text: string;
}

const MINUTES = Math.round(OTP_TTL_SECONDS / 60);
const NOT_YOU =
  'If you did not ask for this, do not share the code with anyone; nobody at Velora will ever ask for it.';
const SIGNATURE = '-- \nVelora';

/** One template per OTP purpose; the subject never holds the code (lock screens show subjects). */
const CODE_TEMPLATES: Record<OtpPurpose, { subject: string; body: (code: string) => string }> = {
  login: {
    subject: 'Your Velora sign-in code',
    body: (code) =>
      `Your code to finish signing in to Velora is ${code}.\n\nIt expires in ${MINUTES} minutes.`,
  },
  verify_email: {
    subject: 'Confirm your email address for Velora',
    body: (code) =>
      `Your code to confirm this email address for Velora is ${code}.\n\nIt expires in ${MINUTES} minutes.`,
  },
  step_up: {
    subject: 'Confirm your Velora transfer',
    body: (code) =>
      `Your code to confirm the transfer you just started is ${code}.\n\n` +
      `It expires in ${MINUTES} minutes. Until you enter it, no money moves.`,
  },
  password_reset: {
    subject: 'Reset your Velora password',
    body: (code) =>
      `Your code to reset your Velora password is ${code}.\n\nIt expires in ${MINUTES} minutes.`,
  },
};

/** One template per notice: what happened and what to do if it was not the reader. */
const NOTICE_TEMPLATES: Record<Notice, { subject: string; body: string }> = {
  account_exists: {
    subject: 'Someone tried to register with your email address',
    body:
      'Someone tried to open a Velora account with this email address, which already has one.\n\n' +
      'If it was you, sign in instead (or reset your password). If it was not, you need not do anything.',
  },
  mfa_enabled: {
    subject: 'Two-step sign-in is on for your Velora account',
    body:
      'Two-step sign-in was turned on for your Velora account: signing in now also asks for a code ' +
      'sent to this address.\n\nIf you did not do this, reset your password now.',
  },
  mfa_disabled: {
    subject: 'Two-step sign-in is off for your Velora account',
    body:
      'Two-step sign-in was turned off for your Velora account.\n\n' +
      'If you did not do this, reset your password now and turn it back on.',
  },
  password_changed: {
    subject: 'Your Velora password was changed',
    body:
      'The password of your Velora account was changed, and every other session was signed out.\n\n' +
      'If you did not do this, reset your password now.',
  },
};

/** The subject of the messages sent for `purpose` (tests find a person's message by it). */
export function messageSubject(purpose: NotifierMessage['purpose']): string {
  const templates: Record<NotifierMessage['purpose'], { subject: string }> = {
    ...CODE_TEMPLATES,
    ...NOTICE_TEMPLATES,
  };
  return templates[purpose].subject;
}

/** Renders the email of one message from its purpose's template. */
export function renderMessage(message: NotifierMessage): RenderedMessage {
  if (message.code !== undefined) {
    const template = CODE_TEMPLATES[message.purpose];
    return {
      subject: template.subject,
      text: `${template.body(message.code)}\n\n${NOT_YOU}\n\n${SIGNATURE}\n`,
    };
  }
  const template = NOTICE_TEMPLATES[message.purpose];
  return { subject: template.subject, text: `${template.body}\n\n${SIGNATURE}\n` };
}
