import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  signWorkflowInput,
  verifyWorkflowInput,
  workflowInputKey,
} from './workflow-input-signature.js';

const key = randomBytes(32);
const input = {
  transfer_id: 't-1',
  amount: '100',
  initiated_by: { user_id: 'u-1', ip: '127.0.0.1' },
};

describe('workflow input signature', () => {
  it('verifies what the key holder signed, whatever the key order', () => {
    const signed = signWorkflowInput(input, key);
    expect(verifyWorkflowInput(signed, key)).toBe(true);
    const reordered = {
      initiated_by: { ip: '127.0.0.1', user_id: 'u-1' },
      signature: signed.signature,
      amount: '100',
      transfer_id: 't-1',
    };
    expect(verifyWorkflowInput(reordered, key)).toBe(true);
  });

  it('refuses a changed field, a nested change, a missing signature and another key', () => {
    const signed = signWorkflowInput(input, key);
    expect(verifyWorkflowInput({ ...signed, amount: '1000' }, key)).toBe(false);
    expect(
      verifyWorkflowInput({ ...signed, initiated_by: { ...signed.initiated_by, user_id: 'victim' } }, key),
    ).toBe(false);
    expect(verifyWorkflowInput(input, key)).toBe(false);
    expect(verifyWorkflowInput({ ...signed, signature: 'AAAA' }, key)).toBe(false);
    expect(verifyWorkflowInput(signed, randomBytes(32))).toBe(false);
  });

  it('canonical JSON sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });

  it('refuses a key shorter than 32 bytes', () => {
    expect(() => workflowInputKey(randomBytes(16).toString('base64'))).toThrow(/at least 32 bytes/);
    expect(workflowInputKey(key.toString('base64')).equals(key)).toBe(true);
  });
});
