import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { redisKeys, type RedisClient } from '../redis.js';

/** Authorization codes live 60 s and can be redeemed once (RFC 9700 §4.2.1; OAuth 2.1 §4.1.2). */
export const AUTHORIZATION_CODE_TTL_SECONDS = 60;
/** An authorization request (the login page) stays open this long. */
export const AUTHORIZATION_REQUEST_TTL_SECONDS = 600;

export interface AuthorizationRequest {
  client_id: string;
  redirect_uri: string;
  scope: string;
  state: string | null;
  nonce: string | null;
  code_challenge: string;
}

export interface AuthorizationCodeGrant extends AuthorizationRequest {
  user_id: string;
  auth_time: number;
}

const sha256 = (v: string) => createHash('sha256').update(v, 'utf8').digest('hex');

export async function saveAuthorizationRequest(
  redis: RedisClient,
  request: AuthorizationRequest,
): Promise<string> {
  const id = randomBytes(24).toString('base64url');
  await redis.set(redisKeys.authorizationRequest(id), JSON.stringify(request), {
    expiration: { type: 'EX', value: AUTHORIZATION_REQUEST_TTL_SECONDS },
  });
  return id;
}

export async function loadAuthorizationRequest(
  redis: RedisClient,
  id: string,
): Promise<AuthorizationRequest | undefined> {
  if (!/^[A-Za-z0-9_-]{32}$/.test(id)) return undefined;
  const raw = await redis.get(redisKeys.authorizationRequest(id));
  return raw ? (JSON.parse(raw) as AuthorizationRequest) : undefined;
}

export async function dropAuthorizationRequest(redis: RedisClient, id: string): Promise<void> {
  await redis.del(redisKeys.authorizationRequest(id));
}

/** Issues a code; only its hash is a Redis key. */
export async function issueAuthorizationCode(
  redis: RedisClient,
  grant: AuthorizationCodeGrant,
): Promise<string> {
  const code = randomBytes(32).toString('base64url');
  await redis.set(redisKeys.authorizationCode(sha256(code)), JSON.stringify(grant), {
    expiration: { type: 'EX', value: AUTHORIZATION_CODE_TTL_SECONDS },
  });
  return code;
}

/** Takes a code out of the store: GETDEL makes a second redemption find nothing. */
export async function redeemAuthorizationCode(
  redis: RedisClient,
  code: string,
): Promise<AuthorizationCodeGrant | undefined> {
  if (code.length === 0 || code.length > 128) return undefined;
  const raw = await redis.getDel(redisKeys.authorizationCode(sha256(code)));
  return raw ? (JSON.parse(raw) as AuthorizationCodeGrant) : undefined;
}

/** RFC 7636 S256: BASE64URL(SHA256(verifier)) must equal the challenge. `plain` is not supported. */
export function verifyPkce(verifier: string, challenge: string): boolean {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
