/**
 * Signed workflow input: the gateway signs what it asks a money-moving workflow to do, and the
 * worker's activities refuse an input whose signature does not verify. Anyone who can reach the
 * Temporal frontend can start a workflow; only the gateway and the workers hold the key, so a
 * workflow started by hand with a victim's user id moves nothing.
 *
 * The signature is HMAC-SHA256 (a MAC, the same strength as a JWS HS256) over the input in a
 * canonical JSON form (keys sorted at every depth), base64url-encoded, carried in the input's
 * own `signature` field. The key is `WORKFLOW_INPUT_KEY`: at least 32 random bytes, base64.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A workflow input carrying the gateway's signature. */
export type Signed<T extends object> = T & { signature: string };

/** Minimum key length in bytes (HMAC-SHA256's block of security). */
export const MIN_WORKFLOW_INPUT_KEY_BYTES = 32;

/** Decodes `WORKFLOW_INPUT_KEY` (base64); throws when it is shorter than 32 bytes. */
export function workflowInputKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length < MIN_WORKFLOW_INPUT_KEY_BYTES) {
    throw new Error(`WORKFLOW_INPUT_KEY must decode to at least ${MIN_WORKFLOW_INPUT_KEY_BYTES} bytes`);
  }
  return key;
}

/** JSON with object keys sorted at every depth; `undefined` members are left out as JSON does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function mac(input: object, key: Uint8Array): Buffer {
  const { signature: _ignored, ...unsigned } = input as Record<string, unknown>;
  return createHmac('sha256', key).update(canonicalJson(unsigned)).digest();
}

/** Returns `input` with its `signature` (any previous signature is replaced). */
export function signWorkflowInput<T extends object>(input: T, key: Uint8Array): Signed<T> {
  return { ...input, signature: mac(input, key).toString('base64url') };
}

/** True when `input.signature` is the MAC of the rest of `input` under `key` (constant time). */
export function verifyWorkflowInput(input: object, key: Uint8Array): boolean {
  const signature = (input as { signature?: unknown }).signature;
  if (typeof signature !== 'string') return false;
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(input, key);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
