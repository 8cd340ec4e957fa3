import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import type { Logger } from '../../lib/logger.js';
import type { AuthConfig } from '../config.js';
import { renderMessage } from './message-templates.js';
import { maskRecipient, type Notifier } from './notifier.js';

/** The SMTP settings of AuthService's config (OTP_DELIVERY=smtp). */
export type SmtpSettings = Pick<
  AuthConfig,
  'SMTP_HOST' | 'SMTP_PORT' | 'SMTP_TLS' | 'SMTP_USER' | 'SMTP_PASSWORD' | 'SMTP_FROM' | 'SMTP_TLS_CA_PATH'
>;

/** Raised when the mail server did not take a message; names no recipient and holds no content. */
export class SmtpDeliveryError extends Error {
  override readonly name = 'SmtpDeliveryError';
}

/**
 * OTP_DELIVERY=smtp: every message goes to a person by email through the configured relay, from
 * one template per purpose. `SMTP_TLS=starttls` (the default) refuses a server that does not
 * upgrade the connection, `implicit` speaks TLS from the first byte, `none` (local catcher
 * only; production refuses it) sends in the clear. The server's certificate is always verified,
 * against SMTP_TLS_CA_PATH when given, else the system's roots. The log line says which purpose
 * went to which masked address; the code, the text and the server's reply never reach a log.
 */
export function createSmtpNotifier(settings: SmtpSettings, log: Logger): Notifier {
  const transport = createTransport({
    host: settings.SMTP_HOST,
    port: settings.SMTP_PORT,
    secure: settings.SMTP_TLS === 'implicit',
    requireTLS: settings.SMTP_TLS === 'starttls',
    ignoreTLS: settings.SMTP_TLS === 'none',
    auth:
      settings.SMTP_USER !== undefined
        ? { user: settings.SMTP_USER, pass: settings.SMTP_PASSWORD ?? '' }
        : undefined,
    tls: {
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(settings.SMTP_TLS_CA_PATH ? { ca: readFileSync(settings.SMTP_TLS_CA_PATH, 'utf8') } : {}),
    },
    // Nodemailer's own logger would write the SMTP dialogue, codes included: never on.
    logger: false,
    debug: false,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });

  return {
    async send(message) {
      const { subject, text } = renderMessage(message);
      const recipient = maskRecipient(message.recipient);
      try {
        const info = await transport.sendMail({
          from: settings.SMTP_FROM,
          to: message.recipient,
          subject,
          text,
          headers: { 'X-Velora-Purpose': message.purpose },
        });
        log.info({ recipient, purpose: message.purpose, message_id: info.messageId }, 'message delivered');
      } catch (err) {
        // Nodemailer's errors carry the SMTP command and the server's reply (the envelope's
        // addresses, sometimes the rejected content): only their codes go further.
        const { code, responseCode } = err as { code?: string; responseCode?: number };
        log.warn(
          { recipient, purpose: message.purpose, code, response_code: responseCode },
          'delivery failed',
        );
        throw new SmtpDeliveryError(
          `SMTP delivery failed (${[code, responseCode].filter((v) => v !== undefined).join(' ') || 'no code'})`,
        );
      }
    },
  };
}
