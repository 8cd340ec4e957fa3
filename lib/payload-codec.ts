/**
 * Encryption of Temporal payloads (workflow inputs, results, activity arguments, query and
 * update answers, memos): AES-256-GCM, the key id in the payload's metadata, a keyring so keys
 * rotate without re-encrypting history. Used by the gateway's client and the worker as their
 * `dataConverter.payloadCodecs`, and by the codec server for the Web UI and the CLI.
 * See docs/decisions/0004-payload-encryption.md.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
// CommonJS module: Node's ESM loader cannot see its named exports, only the default one.
import protos from '@temporalio/proto';
import { z } from 'zod';
import { ConfigError, env, secret } from './config.js';

/** `metadata.encoding` of an encrypted payload; any other payload passes through unchanged. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** `metadata` entry naming the key that encrypted the payload. */
export const KEY_ID_METADATA = 'encryption-key-id';
/** `metadata` entry naming the cipher, so a later format can be told apart. */
export const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES256GCM';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The keys a process may decrypt with, and the one it encrypts with. */
export interface PayloadKeyring {
  currentKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

/** Environment of every process that encrypts or decrypts payloads (spread into its schema). */
export const payloadCodecEnv = {
  /** `kid:base64,kid:base64` — 32-byte AES keys by id; keep old ids listed until their histories are gone. */
  PAYLOAD_CODEC_KEYS: env.optional(
    secret(
      z
        .string()
        .regex(
          /^[A-Za-z0-9._-]{1,64}:[A-Za-z0-9+/]+={0,2}(,[A-Za-z0-9._-]{1,64}:[A-Za-z0-9+/]+={0,2})*$/,
          'must be kid:base64 pairs separated by commas',
        ),
    ),
  ),
  /** The key id new payloads are encrypted with (default: the first listed key). */
  PAYLOAD_CODEC_CURRENT_KEY_ID: env.optional(z.string().regex(KEY_ID, 'must be a key id')),
};

export interface PayloadCodecConfig {
  PAYLOAD_CODEC_KEYS?: string;
  PAYLOAD_CODEC_CURRENT_KEY_ID?: string;
}

/**
 * Reads the keyring from the configuration; undefined when no keys are set (the codec is off).
 * Throws a {@link ConfigError} naming the variable when a key is not 32 bytes, an id repeats,
 * or the current id is not listed.
 */
export function keyringFromConfig(config: PayloadCodecConfig): PayloadKeyring | undefined {
  if (!config.PAYLOAD_CODEC_KEYS) return undefined;
  const keys = new Map<string, Buffer>();
  for (const entry of config.PAYLOAD_CODEC_KEYS.split(',')) {
    const [id = '', material = ''] = entry.split(':');
    const key = Buffer.from(material, 'base64');
    if (key.length !== 32) {
      throw new ConfigError(`PAYLOAD_CODEC_KEYS: key ${id} must be the base64 of exactly 32 bytes`);
    }
    if (keys.has(id)) throw new ConfigError(`PAYLOAD_CODEC_KEYS: key id ${id} is listed twice`);
    keys.set(id, key);
  }
  const currentKeyId = config.PAYLOAD_CODEC_CURRENT_KEY_ID ?? [...keys.keys()][0]!;
  if (!keys.has(currentKeyId)) {
    throw new ConfigError(`PAYLOAD_CODEC_CURRENT_KEY_ID: ${currentKeyId} is not in PAYLOAD_CODEC_KEYS`);
  }
  return { currentKeyId, keys };
}

/** Raised when an encrypted payload cannot be decrypted: unknown key, wrong format or tampering. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

/**
 * The codec: `encode` serializes each payload (metadata and data) and encrypts it with the
 * current key; `decode` decrypts with the key named in the metadata. Payloads that were never
 * encrypted (histories recorded before the codec) decode unchanged.
 */
export function createPayloadCodec(keyring: PayloadKeyring): PayloadCodec {
  const encryptOne = encryptor(keyring);
  const aad = additionalDataByKey(keyring);
  return {
    async encode(payloads) {
      return payloads.map(encryptOne);
    },
    async decode(payloads) {
      return payloads.map((payload) => decrypt(keyring, aad, payload));
    },
  };
}

/** The data converter of a Temporal client or worker: the codec when keys are configured. */
export function dataConverterFromConfig(config: PayloadCodecConfig): DataConverter | undefined {
  const keyring = keyringFromConfig(config);
  return keyring ? { payloadCodecs: [createPayloadCodec(keyring)] } : undefined;
}

/** The key id and cipher are authenticated with the ciphertext: moving a payload to another key id fails. */
function additionalData(keyId: string): Buffer {
  return Buffer.from(`velora-payload-v1|${CIPHER}|${keyId}`);
}

/** The additional data of every key of the ring, built once (it is the same for every payload). */
function additionalDataByKey(keyring: PayloadKeyring): ReadonlyMap<string, Buffer> {
  return new Map([...keyring.keys.keys()].map((keyId) => [keyId, additionalData(keyId)]));
}

/** How many IVs one call to the CSPRNG yields (a sync call costs about as much as a small cipher). */
const IVS_PER_FILL = 256;

/**
 * Encrypts one payload with the current key under a fresh random 96-bit IV. The IVs come from a
 * private pool refilled from the CSPRNG; each pool byte is used once. The metadata values are
 * the same bytes for every payload (never mutated: protobuf only reads them).
 */
function encryptor(keyring: PayloadKeyring): (payload: Payload) => Payload {
  const keyId = keyring.currentKeyId;
  const key = keyring.keys.get(keyId)!;
  const aad = additionalData(keyId);
  const encoding = enc.encode(ENCRYPTED_ENCODING);
  const keyIdBytes = enc.encode(keyId);
  const cipherBytes = enc.encode(CIPHER);
  const ivPool = Buffer.alloc(IV_BYTES * IVS_PER_FILL);
  let ivOffset = ivPool.length;
  return (payload) => {
    if (ivOffset === ivPool.length) {
      randomFillSync(ivPool);
      ivOffset = 0;
    }
    const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
    ivOffset += IV_BYTES;
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const plain = protos.temporal.api.common.v1.Payload.encode(payload).finish();
    // iv | ciphertext | tag, written into one exact-size array (no Buffer.concat, no pooled slab:
    // a view into a shared slab would carry the whole slab through the worker's structured clone).
    const data = new Uint8Array(IV_BYTES + plain.length + TAG_BYTES);
    data.set(iv, 0);
    data.set(cipher.update(plain), IV_BYTES); // GCM is a stream mode: as many bytes out as in
    cipher.final();
    data.set(cipher.getAuthTag(), IV_BYTES + plain.length);
    return {
      metadata: { encoding, [KEY_ID_METADATA]: keyIdBytes, [CIPHER_METADATA]: cipherBytes },
      data,
    };
  };
}

function decrypt(keyring: PayloadKeyring, aad: ReadonlyMap<string, Buffer>, payload: Payload): Payload {
  const encoding = payload.metadata?.encoding;
  if (!encoding || dec.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
  const cipher = payload.metadata?.[CIPHER_METADATA];
  if (cipher && dec.decode(cipher) !== CIPHER) {
    throw new PayloadDecryptionError(`payload encrypted with unknown cipher ${dec.decode(cipher)}`);
  }
  const rawKeyId = payload.metadata?.[KEY_ID_METADATA];
  const keyId = rawKeyId ? dec.decode(rawKeyId) : '';
  const key = keyring.keys.get(keyId);
  if (!key)
    throw new PayloadDecryptionError(`payload encrypted with unknown key id ${JSON.stringify(keyId)}`);
  const raw = payload.data ?? new Uint8Array();
  // A view, not a copy: the bytes are only read.
  const data = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(aad.get(keyId)!);
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  let plain: Buffer;
  try {
    // GCM is a stream mode: update() returns all of it; final() checks the tag.
    plain = decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES));
    decipher.final();
  } catch {
    throw new PayloadDecryptionError(`encrypted payload failed authentication (key id ${keyId})`);
  }
  const inner = protos.temporal.api.common.v1.Payload.decode(plain);
  return { metadata: inner.metadata, data: inner.data };
}
