import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM envelope for private keys at rest. The key id is bound as additional
 * authenticated data, so a ciphertext copied onto another row does not decrypt.
 */
export interface KeyEncryption {
  encrypt(plaintext: string, kid: string): string;
  decrypt(sealed: string, kid: string): string;
}

/** Builds the envelope from the base64 of a 32-byte key (AUTH_KEY_ENCRYPTION_KEY). */
export function createKeyEncryption(base64Key: string): KeyEncryption {
  const key = Buffer.from(base64Key, 'base64');
  if (key.length !== 32) throw new Error('key encryption key must be 32 bytes');
  return {
    encrypt(plaintext, kid) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(kid, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    decrypt(sealed, kid) {
      const raw = Buffer.from(sealed, 'base64');
      const iv = raw.subarray(0, IV_BYTES);
      const tag = raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(kid, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}
