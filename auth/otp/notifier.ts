import type { Logger } from '../../lib/logger.js';
import { redisKeys, type RedisClient } from '../redis.js';
import type { OtpPurpose } from './otp.service.js';

/** Messages that tell a person something happened to their account; they carry no code. */
export const NOTICES = ['account_exists', 'mfa_enabled', 'mfa_disabled', 'password_changed'] as const;
export type Notice = (typeof NOTICES)[number];

/** What AuthService sends to a person: an OTP code for a purpose, or a notice without one. */
export type NotifierMessage =
  | { recipient: string; purpose: OtpPurpose; code: string }
  | { recipient: string; purpose: Notice; code?: undefined };

/** Delivery channel for codes and notices (email/SMS provider in production). */
export interface Notifier {
  send(message: NotifierMessage): Promise<void>;
}

export interface OutboxItem {
  recipient: string;
  purpose: string;
  code: string | null;
  sent_at: string;
}

const OUTBOX_KEEP = 50;
const OUTBOX_TTL_SECONDS = 86_400;

/**
 * OTP_DELIVERY=dev: messages are kept in Redis (so every instance sees them) and readable at
 * `GET /dev/outbox`. Local stack and tests only.
 */
export function createDevNotifier(
  redis: RedisClient,
): Notifier & { outbox(recipient: string): Promise<OutboxItem[]> } {
  return {
    async send(message) {
      const item: OutboxItem = {
        recipient: message.recipient,
        purpose: message.purpose,
        code: message.code ?? null,
        sent_at: new Date().toISOString(),
      };
      const key = redisKeys.devOutbox(message.recipient);
      await redis
        .multi()
        .lPush(key, JSON.stringify(item))
        .lTrim(key, 0, OUTBOX_KEEP - 1)
        .expire(key, OUTBOX_TTL_SECONDS)
        .exec();
    },
    async outbox(recipient) {
      const raw = await redis.lRange(redisKeys.devOutbox(recipient), 0, OUTBOX_KEEP - 1);
      return raw.map((s) => JSON.parse(s) as OutboxItem);
    },
  };
}

/** An address as logs may show it: `a***@example.com`. */
export function maskRecipient(recipient: string): string {
  const [local = '', domain = ''] = recipient.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}

/** OTP_DELIVERY=log: a delivery stub that records that a message went out, never its code. */
export function createLogNotifier(log: Logger): Notifier {
  return {
    async send(message) {
      log.info(
        { recipient: maskRecipient(message.recipient), purpose: message.purpose },
        'message delivered (stub)',
      );
    },
  };
}
