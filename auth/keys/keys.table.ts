import type { Generated, Selectable } from 'kysely';
import type { JWK } from 'jose';

export type SigningKeyStatus = 'next' | 'active' | 'retired';

/**
 * `signing_keys`: ES256 key pairs. The private key is stored only encrypted (AES-256-GCM with
 * AUTH_KEY_ENCRYPTION_KEY). Life of a key: `next` (published, not yet signing) → `active` (the one
 * signing key) → `retired` (published until every token it signed has expired) → deleted.
 */
export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: JWK;
  /** base64(iv ‖ tag ‖ ciphertext) of the PKCS#8 private key. */
  private_key_encrypted: string;
  status: SigningKeyStatus;
  created_at: Generated<Date>;
  retired_at: Date | null;
  /** For a `next` key: when it takes over signing. */
  activate_after: Date | null;
}

export type SigningKeyRow = Selectable<SigningKeysTable>;
