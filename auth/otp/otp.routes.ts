import { Hono } from 'hono';
import type { Principal } from '../../lib/jwt-verifier.js';
import { fail } from '../http/errors.js';
import { jsonBody } from '../http/parse-body.js';
import { refuse } from '../http/refuse.js';
import type { AuthServices } from '../services.js';
import { UserError } from '../users/users.errors.js';
import { internalOtpSendBody, internalOtpVerifyBody } from './otp.schemas.js';

type Env = { Variables: { principal: Principal } };

export type InternalOtpRoutesDeps = Pick<
  AuthServices,
  'otp' | 'users' | 'emailVerification' | 'idempotency' | 'requestContext'
>;

/** `/internal/otp/*`: step-up codes for the transfer workflow. */
export function internalOtpRoutes(s: InternalOtpRoutesDeps) {
  const app = new Hono<Env>();

  app.post('/send', s.idempotency(), async (c) => {
    const body = await jsonBody(c, internalOtpSendBody);
    const user = await s.users.findById(body.user_id);
    if (!user) refuse(UserError.NotFound);
    const result = await s.otp.send({
      purpose: body.purpose,
      subject: user.id,
      recipient: user.email,
      reference: body.reference,
      context: s.requestContext(c),
    });
    // The orchestrator reads the wait from the body as well as from Retry-After.
    if ('error' in result) refuse(result, { retry_after: result.retryAfterSeconds });
    return c.json({ challenge_id: result.challengeId, expires_at: result.expiresAt.toISOString() }, 201);
  });

  app.post('/verify', s.idempotency({ required: false, perBody: true }), async (c) => {
    const body = await jsonBody(c, internalOtpVerifyBody);
    const result = await s.otp.verify({
      purpose: body.purpose,
      subject: body.user_id,
      challengeId: body.challenge_id,
      code: body.code,
      context: s.requestContext(c),
    });
    if ('error' in result) refuse(result);
    // A verified email code moves the user to the verified tier, whichever door it came through.
    if (body.purpose === 'verify_email') await s.emailVerification.confirm(body.user_id, s.requestContext(c));
    return c.json({ valid: true });
  });

  return app;
}

/** `GET /dev/outbox?recipient=`: the dev notifier's messages, newest first (OTP_DELIVERY=dev only). */
export function devOutboxRoutes(outbox: (recipient: string) => Promise<unknown[]>) {
  const app = new Hono();
  app.get('/outbox', async (c) => {
    const recipient = c.req.query('recipient');
    if (!recipient) fail(400, 'validation_failed', 'query.recipient: required');
    return c.json({ items: await outbox(recipient.trim().toLowerCase()) });
  });
  return app;
}
