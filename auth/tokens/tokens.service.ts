import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import {
  createAccessTokenVerifier,
  type AccessTokenVerifier,
  type Principal,
} from '../../lib/jwt-verifier.js';
import type { AuditLog, RequestContext } from '../audit/audit.service.js';
import type { Database } from '../database.js';
import { SIGNING_ALG, type KeyStore } from '../keys/keys.service.js';
import { redisKeys, type RedisClient } from '../redis.js';
import {
  consumeRefreshToken,
  findRefreshToken,
  insertRefreshToken,
  lockRefreshTokenOwner,
  revokeAllForUser,
  revokeFamily,
  revokeFamilyOfUser,
} from './refresh-tokens.repository.js';
import type { RefreshTokenRow } from './refresh-tokens.table.js';
import { tokenRoles, userTokenScope } from './scopes.js';
import { RefreshError } from './tokens.errors.js';

/** RFC 6749 §5.1 token response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
  id_token?: string;
}

export interface AccessTokenInput {
  subject: string;
  clientId: string;
  scope: string;
  roles: readonly string[];
  /**
   * The refresh family the token belongs to (user sessions): revoking the family kills it, and
   * it is the token's `sid` claim, so a logout with the access token alone ends the session.
   */
  familyId?: string;
  /** Set for user tokens: the token is tracked so disabling the user can denylist it. */
  userId?: string;
}

export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresAt: number;
  expiresIn: number;
}

export interface TokenService {
  issueAccessToken(input: AccessTokenInput): Promise<IssuedAccessToken>;
  /**
   * Starts a new session: an access token and the first refresh token of a new family. The
   * granted scope is `requestedScope` narrowed to what the user may hold through the client
   * (`scopes.ts`); the response says what was granted.
   */
  startSession(
    user: { id: string; roles: readonly string[] },
    clientId: string,
    requestedScope: string,
  ): Promise<TokenResponse>;
  /** Rotates a refresh token; a second use of any token of the family revokes the family. */
  refresh(
    refreshToken: string,
    clientId: string,
    context: RequestContext,
  ): Promise<TokenResponse | RefreshError>;
  /** Looks a refresh token up without using it (introspection, revocation). */
  inspectRefreshToken(refreshToken: string): Promise<RefreshTokenRow | undefined>;
  revokeFamily(familyId: string, reason: string): Promise<void>;
  /** Ends one session of `userId` (logout): its family is revoked only if it is the user's. */
  endSession(userId: string, familyId: string, reason: string): Promise<void>;
  /**
   * Ends every session of a user: refresh families revoked and live access tokens denylisted.
   * `keepFamilyId` spares one session (a password change keeps the caller's own); `db` is the
   * caller's transaction when the revocation must commit with another change (the new password).
   */
  revokeAllSessions(
    userId: string,
    reason: string,
    options?: { keepFamilyId?: string; db?: Kysely<Database> },
  ): Promise<void>;
  /**
   * An OpenID Connect ID token for an authorization-code grant that asked for `openid`: who
   * signed in (`sub`), when (`auth_time`, epoch seconds), for which client (`aud`) and the
   * client's `nonce`. It lives as long as an access token.
   */
  issueIdToken(input: {
    clientId: string;
    userId: string;
    nonce: string | null;
    authTime: number;
  }): Promise<string>;
  /**
   * Logout with an access token: ends its own session (its `sid`), the session of
   * `refreshToken` when that is the same user's, and the token itself.
   */
  logout(principal: Principal, refreshToken: string | undefined, context: RequestContext): Promise<void>;
  /**
   * Revocation (RFC 7009) by `clientId`: a refresh token ends its family, an access token is
   * denylisted. Tokens that are unknown or another client's are left alone, with no sign.
   */
  revoke(token: string, clientId: string, context: RequestContext): Promise<void>;
  /** Puts a jti on the Redis denylist until the token would have expired anyway. */
  denylist(jti: string, expiresAt: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
  /** Verifies our own access tokens against the local key table (plus the denylist). */
  verifyAccessToken: AccessTokenVerifier;
}

export interface TokenServiceDeps {
  db: Kysely<Database>;
  redis: RedisClient;
  keys: KeyStore;
  audit: AuditLog;
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

/** A denylist entry outlives its token by this much: verifiers accept a few seconds of clock skew. */
const DENYLIST_GRACE_MS = 10_000;
/** A user's or family's list of live token ids is kept this long past an access token's lifetime. */
const TRACKING_SLACK_SECONDS = 60;

/** SHA-256 of an opaque token: refresh tokens are high-entropy, so a fast hash is enough to store them. */
export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** 256 random bits, base64url. */
function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

export function createTokenService(deps: TokenServiceDeps): TokenService {
  const verifyAccessToken = createAccessTokenVerifier({
    jwks: deps.keys.verificationKey,
    issuer: deps.issuer,
    audience: deps.audience,
    algorithms: [SIGNING_ALG],
    isRevoked: (jti) => isRevoked(jti),
  });

  async function isRevoked(jti: string): Promise<boolean> {
    return (await deps.redis.exists(redisKeys.denylist(jti))) > 0;
  }

  async function denylist(jti: string, expiresAt: number): Promise<void> {
    const ms = expiresAt * 1000 - Date.now();
    if (ms <= 0) return;
    await deps.redis.set(redisKeys.denylist(jti), '1', {
      expiration: { type: 'PX', value: ms + DENYLIST_GRACE_MS },
    });
  }

  async function track(key: string, jti: string, expiresAt: number) {
    await deps.redis
      .multi()
      .zAdd(key, { score: expiresAt, value: jti })
      .zRemRangeByScore(key, '-inf', Math.floor(Date.now() / 1000) - 1)
      .expire(key, deps.accessTokenTtlSeconds + TRACKING_SLACK_SECONDS)
      .exec();
  }

  /** Denylists every still-valid access token recorded under `key`. */
  async function denylistTracked(key: string) {
    const nowSec = Math.floor(Date.now() / 1000);
    const entries = await deps.redis.zRangeByScoreWithScores(key, nowSec, '+inf');
    await Promise.all(entries.map((e) => denylist(e.value, e.score)));
  }

  async function revokeFamilyAndTokens(familyId: string, reason: string) {
    await revokeFamily(deps.db, familyId, reason, new Date());
    await denylistTracked(redisKeys.familyTokens(familyId));
  }

  async function endSession(userId: string, familyId: string, reason: string) {
    if ((await revokeFamilyOfUser(deps.db, familyId, userId, reason, new Date())) > 0)
      await denylistTracked(redisKeys.familyTokens(familyId));
  }

  async function issueAccessToken(input: AccessTokenInput): Promise<IssuedAccessToken> {
    const key = await deps.keys.signingKey();
    const jti = randomUUID();
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + deps.accessTokenTtlSeconds;
    const token = await new SignJWT({
      scope: input.scope,
      roles: [...input.roles],
      client_id: input.clientId,
      ...(input.familyId ? { sid: input.familyId } : {}),
    })
      .setProtectedHeader({ alg: SIGNING_ALG, typ: 'at+jwt', kid: key.kid })
      .setIssuer(deps.issuer)
      .setAudience(deps.audience)
      .setSubject(input.subject)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key.privateKey);
    if (input.userId) await track(redisKeys.userTokens(input.userId), jti, exp);
    if (input.familyId) await track(redisKeys.familyTokens(input.familyId), jti, exp);
    return { token, jti, expiresAt: exp, expiresIn: deps.accessTokenTtlSeconds };
  }

  async function issueIdToken(input: {
    clientId: string;
    userId: string;
    nonce: string | null;
    authTime: number;
  }): Promise<string> {
    const key = await deps.keys.signingKey();
    const claims: Record<string, unknown> = { auth_time: input.authTime };
    if (input.nonce) claims.nonce = input.nonce;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALG, typ: 'JWT', kid: key.kid })
      .setIssuer(deps.issuer)
      .setAudience(input.clientId)
      .setSubject(input.userId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${deps.accessTokenTtlSeconds}s`)
      .sign(key.privateKey);
  }

  async function sessionTokens(
    user: { id: string; roles: readonly string[] },
    clientId: string,
    requestedScope: string,
    family: { id: string; expiresAt: Date },
    db: Kysely<Database>,
  ): Promise<TokenResponse> {
    const scope = userTokenScope(requestedScope, user.roles, clientId);
    const refreshToken = newOpaqueToken();
    await insertRefreshToken(db, {
      family_id: family.id,
      token_hash: hashOpaqueToken(refreshToken),
      user_id: user.id,
      client_id: clientId,
      scope,
      expires_at: family.expiresAt,
    });
    const access = await issueAccessToken({
      subject: user.id,
      clientId,
      scope,
      roles: tokenRoles(user.roles, clientId),
      userId: user.id,
      familyId: family.id,
    });
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: refreshToken,
      scope,
    };
  }

  return {
    issueAccessToken,
    issueIdToken,
    verifyAccessToken,
    denylist,
    isRevoked,

    async startSession(user, clientId, requestedScope) {
      const family = {
        id: randomUUID(),
        expiresAt: new Date(Date.now() + deps.refreshTokenTtlSeconds * 1000),
      };
      return sessionTokens(user, clientId, requestedScope, family, deps.db);
    },

    async refresh(refreshToken, clientId, context) {
      const hash = hashOpaqueToken(refreshToken);
      const now = new Date();
      type Outcome =
        { tokens: TokenResponse; row: RefreshTokenRow } | { error: RefreshError; row?: RefreshTokenRow };
      const outcome = await deps.db.transaction().execute(async (trx): Promise<Outcome> => {
        // The owner's row first (share lock), then the token: the order a password reset takes
        // too, so it cannot miss the successor this refresh inserts (lockRefreshTokenOwner).
        const user = await lockRefreshTokenOwner(trx, hash);
        const row = await consumeRefreshToken(trx, hash, clientId, now);
        if (!row) return { error: await explainRefusal(hash, clientId, now) };
        if (user?.status !== 'active') {
          await revokeFamily(trx, row.family_id, 'user_inactive', now);
          return { error: RefreshError.UserInactive, row };
        }
        // The stored grant is the request: a refresh never widens a session.
        const tokens = await sessionTokens(
          user,
          row.client_id,
          row.scope,
          { id: row.family_id, expiresAt: row.expires_at },
          trx,
        );
        return { tokens, row };
      });
      if ('tokens' in outcome) {
        await deps.audit({
          event: 'refresh',
          outcome: 'success',
          subject: outcome.row.user_id,
          clientId,
          context,
          details: { family_id: outcome.row.family_id },
        });
        return outcome.tokens;
      }
      const { error } = outcome;
      const row = outcome.row ?? (await findRefreshToken(deps.db, hash));
      if (error === RefreshError.Reused && row) {
        // Someone holds a copy of a token that was already exchanged: end the whole session.
        await revokeFamily(deps.db, row.family_id, 'reuse_detected', now);
        await denylistTracked(redisKeys.familyTokens(row.family_id));
        await deps.audit({
          event: 'refresh_reuse_detected',
          outcome: 'failure',
          subject: row.user_id,
          clientId,
          context,
          details: { family_id: row.family_id },
        });
      } else {
        await deps.audit({
          event: 'refresh',
          outcome: 'failure',
          subject: row?.user_id ?? null,
          clientId,
          context,
          details: { reason: error },
        });
      }
      return error;
    },

    async inspectRefreshToken(refreshToken) {
      return findRefreshToken(deps.db, hashOpaqueToken(refreshToken));
    },

    revokeFamily: revokeFamilyAndTokens,
    endSession,

    async logout(principal, refreshToken, context) {
      // The session of the access token itself (its `sid` is the refresh family), with or
      // without a refresh token: logout ends the session, as the API promises.
      const sid = principal.sessionId;
      if (sid !== undefined && !principal.isService) await endSession(principal.subject, sid, 'logout');
      if (refreshToken) {
        const row = await findRefreshToken(deps.db, hashOpaqueToken(refreshToken));
        // Only the owner's own session can be ended with it; anything else is ignored (no oracle).
        if (row && row.user_id === principal.subject && row.family_id !== sid)
          await endSession(principal.subject, row.family_id, 'logout');
      }
      await denylist(principal.tokenId, principal.expiresAt);
      await deps.audit({
        event: 'logout',
        outcome: 'success',
        subject: principal.subject,
        clientId: principal.clientId,
        context,
        details: { jti: principal.tokenId, ...(sid === undefined ? {} : { family_id: sid }) },
      });
    },

    async revoke(token, clientId, context) {
      const refresh = await findRefreshToken(deps.db, hashOpaqueToken(token));
      if (refresh) {
        if (refresh.client_id !== clientId) return;
        await revokeFamilyAndTokens(refresh.family_id, 'revoked');
        await deps.audit({
          event: 'revoke',
          outcome: 'success',
          subject: refresh.user_id,
          clientId,
          context,
          details: { token_type: 'refresh_token', family_id: refresh.family_id },
        });
        return;
      }
      const principal = await verifyAccessToken(token).catch(() => undefined);
      if (principal?.clientId !== clientId) return;
      await denylist(principal.tokenId, principal.expiresAt);
      await deps.audit({
        event: 'revoke',
        outcome: 'success',
        subject: principal.subject,
        clientId,
        context,
        details: { token_type: 'access_token', jti: principal.tokenId },
      });
    },

    async revokeAllSessions(userId, reason, options = {}) {
      const { keepFamilyId, db = deps.db } = options;
      await revokeAllForUser(db, userId, reason, new Date(), keepFamilyId);
      if (keepFamilyId === undefined) return denylistTracked(redisKeys.userTokens(userId));
      // Every live access token of the user except those of the kept session.
      const nowSec = Math.floor(Date.now() / 1000);
      const [all, kept] = await Promise.all([
        deps.redis.zRangeByScoreWithScores(redisKeys.userTokens(userId), nowSec, '+inf'),
        deps.redis.zRange(redisKeys.familyTokens(keepFamilyId), 0, -1),
      ]);
      const keep = new Set(kept);
      await Promise.all(all.filter((e) => !keep.has(e.value)).map((e) => denylist(e.value, e.score)));
    },
  };

  async function explainRefusal(hash: string, clientId: string, now: Date): Promise<RefreshError> {
    const row = await findRefreshToken(deps.db, hash);
    if (!row || row.client_id !== clientId) return RefreshError.Invalid;
    // A token that was already exchanged is reuse, whatever happened to its family since.
    if (row.used_at) return RefreshError.Reused;
    if (row.revoked_at) return RefreshError.Revoked;
    if (row.expires_at <= now) return RefreshError.Expired;
    return RefreshError.Invalid;
  }
}
