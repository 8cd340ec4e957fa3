import { randomBytes } from 'node:crypto';
import {
  exportJWK,
  exportPKCS8,
  errors as joseErrors,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTVerifyGetKey,
  type FlattenedJWSInput,
} from 'jose';
import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import type { KeyEncryption } from './key-encryption.js';
import {
  deleteKeysRetiredBefore,
  findActiveKey,
  insertActiveKeyIfNone,
  insertNextKey,
  listPublishedKeys,
  promoteDueNextKey,
} from './keys.repository.js';
import type { SigningKeyRow } from './keys.table.js';

export const SIGNING_ALG = 'ES256';

/** How long an instance may keep signing with a key it cached before it re-reads the table. */
export const KEY_CACHE_SECONDS = 30;
/** Verifiers accept this much clock skew; a retired key is kept that much longer. */
const CLOCK_SKEW_SECONDS = 60;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/**
 * ES256 signing keys kept in PostgreSQL. Every instance signs with the one active key and
 * publishes all keys still needed to verify tokens in flight.
 */
export interface KeyStore {
  /** Creates the first key when the table has none (idempotent across instances). */
  ensureActiveKey(): Promise<void>;
  signingKey(): Promise<SigningKey>;
  /** The public JWK Set (`/.well-known/jwks.json`). */
  jwks(): Promise<{ keys: JWK[] }>;
  /** Key resolver for jose's `jwtVerify`, looking keys up by `kid` only. */
  verificationKey: JWTVerifyGetKey;
  /**
   * Publishes a new key that takes over signing after the activation delay (at once when the
   * delay is 0); the key it replaces is then retired but stays published.
   */
  rotate(): Promise<{ kid: string; activatesAt: Date; retiredKid: string | undefined }>;
  /** Removes retired keys whose every token has expired; returns their kids. */
  removeExpiredKeys(): Promise<string[]>;
  /** Forgets the cache, so the next call reads the table. */
  invalidate(): void;
}

export interface KeyStoreDeps {
  db: Kysely<Database>;
  encryption: KeyEncryption;
  accessTokenTtlSeconds: number;
  /** How long a rotated-in key is published before it signs (verifiers refetch the JWKS meanwhile). */
  activationDelaySeconds?: number;
  now?: () => Date;
}

interface CachedKeys {
  loadedAt: number;
  rows: SigningKeyRow[];
  publicKeys: Map<string, CryptoKey>;
  active: SigningKey | undefined;
}

/** Builds the key store; the cache is per process, the truth is the table. */
export function createKeyStore(deps: KeyStoreDeps): KeyStore {
  const now = deps.now ?? (() => new Date());
  let cache: CachedKeys | undefined;
  let loading: Promise<CachedKeys> | undefined;
  let lastForcedReload = 0;

  async function load(): Promise<CachedKeys> {
    await promoteDueNextKey(deps.db, now());
    const rows = await listPublishedKeys(deps.db);
    const publicKeys = new Map<string, CryptoKey>();
    let active: SigningKey | undefined;
    for (const row of rows) {
      publicKeys.set(row.kid, (await importJWK(row.public_jwk, SIGNING_ALG)) as CryptoKey);
      if (row.status === 'active') {
        const pem = deps.encryption.decrypt(row.private_key_encrypted, row.kid);
        active = { kid: row.kid, privateKey: await importPKCS8(pem, SIGNING_ALG) };
      }
    }
    return { loadedAt: Date.now(), rows, publicKeys, active };
  }

  async function current(force = false): Promise<CachedKeys> {
    if (!force && cache && Date.now() - cache.loadedAt < KEY_CACHE_SECONDS * 1000) return cache;
    loading ??= load().finally(() => {
      loading = undefined;
    });
    cache = await loading;
    return cache;
  }

  async function newKeyRow() {
    const kid = randomBytes(16).toString('base64url');
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
    const pem = await exportPKCS8(privateKey);
    return {
      kid,
      alg: SIGNING_ALG,
      public_jwk: publicJwk,
      private_key_encrypted: deps.encryption.encrypt(pem, kid),
      status: 'active' as const,
      created_at: now(),
    };
  }

  return {
    async ensureActiveKey() {
      if (await findActiveKey(deps.db)) return;
      await insertActiveKeyIfNone(deps.db, await newKeyRow());
      cache = undefined;
    },

    async signingKey() {
      let keys = await current();
      if (!keys.active) keys = await current(true);
      if (!keys.active) throw new Error('no active signing key: run ensureActiveKey at start');
      return keys.active;
    },

    async jwks() {
      const keys = await current();
      return { keys: keys.rows.map((r) => r.public_jwk) };
    },

    verificationKey: async (header: JWTHeaderParameters, _token: FlattenedJWSInput) => {
      // Keys come only from our own table, by kid. A token that tries to bring its own key
      // (jku, x5u, embedded jwk, x5c) is refused outright rather than silently ignored.
      for (const name of ['jku', 'x5u', 'jwk', 'x5c'] as const) {
        if (name in header) throw new UnknownKeyError(`header parameter ${name} is not accepted`);
      }
      const kid = header.kid;
      if (typeof kid !== 'string' || kid.length === 0 || kid.length > 64)
        throw new UnknownKeyError('kid missing or malformed');
      let keys = await current();
      let key = keys.publicKeys.get(kid);
      // A kid we have not seen may belong to a key another instance just created; re-read at most once a second.
      if (!key && Date.now() - lastForcedReload > 1000) {
        lastForcedReload = Date.now();
        keys = await current(true);
        key = keys.publicKeys.get(kid);
      }
      if (!key) throw new UnknownKeyError('unknown kid');
      return key;
    },

    async rotate() {
      const row = await newKeyRow();
      const activatesAt = new Date(now().getTime() + (deps.activationDelaySeconds ?? 0) * 1000);
      await insertNextKey(deps.db, { ...row, activate_after: activatesAt });
      const promoted = await promoteDueNextKey(deps.db, now());
      cache = undefined;
      const current = promoted ? undefined : await findActiveKey(deps.db);
      return { kid: row.kid, activatesAt, retiredKid: promoted?.retiredKid ?? current?.kid };
    },

    async removeExpiredKeys() {
      const keepSeconds = deps.accessTokenTtlSeconds + KEY_CACHE_SECONDS + CLOCK_SKEW_SECONDS;
      const cutoff = new Date(now().getTime() - keepSeconds * 1000);
      const removed = await deleteKeysRetiredBefore(deps.db, cutoff);
      if (removed.length > 0) cache = undefined;
      return removed;
    },

    invalidate() {
      cache = undefined;
    },
  };
}

/** Raised by the key resolver: a jose error, so verifiers report an invalid token (401), not a bug. */
export class UnknownKeyError extends joseErrors.JWKSNoMatchingKey {}
