import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { redisKeys, type RedisClient } from '../redis.js';

/** Authorization codes live 60 s and can be redeemed once (RFC 9700 §4.2.1; OAuth 2.1 §4.1.2). */
const AUTHORIZATION_CODE_TTL_SECONDS = 60;
/** An authorization request (the login page) stays open this long. */
const AUTHORIZATION_REQUEST_TTL_SECONDS = 600;

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

/**
 * The pending sign-in requests of the authorization endpoint and the codes it issues, in Redis.
 * Only a code's hash is a key, and a code can be redeemed once.
 */
export interface AuthorizationCodeStore {
  /** Keeps a request while the user signs in; its random id is the sign-in form's token. */
  saveRequest(request: AuthorizationRequest): Promise<string>;
  loadRequest(id: string): Promise<AuthorizationRequest | undefined>;
  dropRequest(id: string): Promise<void>;
  issueCode(grant: AuthorizationCodeGrant): Promise<string>;
  /** Takes a code out of the store: GETDEL makes a second redemption find nothing. */
  redeemCode(code: string): Promise<AuthorizationCodeGrant | undefined>;
}

/** Random ids of sign-in requests: 24 bytes, base64url (32 characters). */
const REQUEST_ID = /^[A-Za-z0-9_-]{32}$/;
/** Longer than any code this store issues (43 characters): nothing longer is looked up. */
const MAX_CODE_LENGTH = 128;

export function createAuthorizationCodeStore(redis: RedisClient): AuthorizationCodeStore {
  return {
    async saveRequest(request) {
      const id = randomBytes(24).toString('base64url');
      await redis.set(redisKeys.authorizationRequest(id), JSON.stringify(request), {
        expiration: { type: 'EX', value: AUTHORIZATION_REQUEST_TTL_SECONDS },
      });
      return id;
    },

    async loadRequest(id) {
      if (!REQUEST_ID.test(id)) return undefined;
      const raw = await redis.get(redisKeys.authorizationRequest(id));
      return raw ? (JSON.parse(raw) as AuthorizationRequest) : undefined;
    },

    async dropRequest(id) {
      await redis.del(redisKeys.authorizationRequest(id));
    },

    async issueCode(grant) {
      const code = randomBytes(32).toString('base64url');
      await redis.set(redisKeys.authorizationCode(sha256(code)), JSON.stringify(grant), {
        expiration: { type: 'EX', value: AUTHORIZATION_CODE_TTL_SECONDS },
      });
      return code;
    },

    async redeemCode(code) {
      if (code.length === 0 || code.length > MAX_CODE_LENGTH) return undefined;
      const raw = await redis.getDel(redisKeys.authorizationCode(sha256(code)));
      return raw ? (JSON.parse(raw) as AuthorizationCodeGrant) : undefined;
    },
  };
}

/** RFC 7636 S256: BASE64URL(SHA256(verifier)) must equal the challenge. `plain` is not supported. */
export function verifyPkce(verifier: string, challenge: string): boolean {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
