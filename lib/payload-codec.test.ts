import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type DataConverter, type Payload } from '@temporalio/common';
// CommonJS module: Node's ESM loader cannot see its named exports, only the default one.
import protos from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../test/support/test-env.js';
import { historyFromJson } from '../workers/testing/history-json.js';
import { HISTORIES_DIR, workflowBundle } from '../workers/testing/workflow-test-env.js';
import { ConfigError } from './config.js';
import {
  createPayloadCodec,
  dataConverterFromConfig,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  keyringFromConfig,
  PayloadDecryptionError,
} from './payload-codec.js';

const key = () => randomBytes(32).toString('base64');
const OLD = key();
const NEW = key();
const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());

const SECRET_INPUT = {
  initiated_by: { user_id: 'user-1', ip: '203.0.113.77', user_agent: 'Mozilla/5.0 (VeloraCodecTest)' },
  amount: '1234',
};
const payload = (): Payload => defaultPayloadConverter.toPayload(SECRET_INPUT);

function codecWith(keys: string, current?: string) {
  const keyring = keyringFromConfig({ PAYLOAD_CODEC_KEYS: keys, PAYLOAD_CODEC_CURRENT_KEY_ID: current });
  return createPayloadCodec(keyring!);
}

describe('payload codec', () => {
  it('round-trips a payload and hides its content', async () => {
    const codec = codecWith(`k1:${NEW}`);
    const [encrypted] = await codec.encode([payload()]);
    expect(text(encrypted!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(Buffer.from(encrypted!.data!).toString('latin1')).not.toContain('203.0.113.77');
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(SECRET_INPUT);
    // A fresh IV per payload: the same value never encrypts to the same bytes.
    const [again] = await codec.encode([payload()]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(encrypted!.data!))).toBe(false);
  });

  it('never repeats an IV, across refills of its IV pool, and each payload owns its bytes', async () => {
    const codec = codecWith(`k1:${NEW}`);
    // 1,000 payloads: several refills of the 256-IV pool, in batches as the SDK sends them.
    const batches = await Promise.all(
      Array.from({ length: 10 }, () => codec.encode(Array.from({ length: 100 }, payload))),
    );
    const encrypted = batches.flat();
    const ivs = new Set(encrypted.map((p) => Buffer.from(p.data!.subarray(0, 12)).toString('hex')));
    expect(ivs.size).toBe(1000);
    // An exact-size array, not a view into a shared slab (structured clone copies the whole buffer).
    expect(
      encrypted.every((p) => p.data!.byteOffset === 0 && p.data!.buffer.byteLength === p.data!.length),
    ).toBe(true);
    const decoded = await codec.decode(encrypted);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(
      Array.from({ length: 1000 }, () => SECRET_INPUT),
    );
  });

  it('decodes a payload encrypted with an old key after rotation', async () => {
    const [old] = await codecWith(`k1:${OLD}`).encode([payload()]);
    const rotated = codecWith(`k2:${NEW},k1:${OLD}`, 'k2');
    const [fresh] = await rotated.encode([payload()]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('k2');
    for (const p of [old!, fresh!]) {
      const [decoded] = await rotated.decode([p]);
      expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(SECRET_INPUT);
    }
    // Once k1 is removed from the keyring, its payloads no longer decode.
    await expect(codecWith(`k2:${NEW}`).decode([old!])).rejects.toThrow(/unknown key id "k1"/);
  });

  it('refuses tampered ciphertext, a swapped key id and a truncated payload', async () => {
    const codec = codecWith(`k1:${OLD},k2:${NEW}`);
    const [encrypted] = await codec.encode([payload()]);
    const flipped = Buffer.from(encrypted!.data!);
    flipped[20]! ^= 0x01;
    await expect(codec.decode([{ ...encrypted!, data: flipped }])).rejects.toBeInstanceOf(
      PayloadDecryptionError,
    );
    const relabelled = {
      ...encrypted!,
      metadata: { ...encrypted!.metadata, [KEY_ID_METADATA]: new TextEncoder().encode('k2') },
    };
    await expect(codec.decode([relabelled])).rejects.toThrow(/failed authentication/);
    await expect(codec.decode([{ ...encrypted!, data: flipped.subarray(0, 10) }])).rejects.toThrow(
      /truncated/,
    );
  });

  it('passes payloads without the encryption encoding through unchanged', async () => {
    const plain = payload();
    const [decoded] = await codecWith(`k1:${OLD}`).decode([plain]);
    expect(decoded).toBe(plain);
  });

  it('is off without keys and names the variable of a bad keyring', () => {
    expect(dataConverterFromConfig({})).toBeUndefined();
    expect(() =>
      keyringFromConfig({ PAYLOAD_CODEC_KEYS: `k1:${randomBytes(16).toString('base64')}` }),
    ).toThrow(/PAYLOAD_CODEC_KEYS: key k1 must be the base64 of exactly 32 bytes/);
    expect(() => keyringFromConfig({ PAYLOAD_CODEC_KEYS: `k1:${OLD},k1:${NEW}` })).toThrow(ConfigError);
    expect(() =>
      keyringFromConfig({ PAYLOAD_CODEC_KEYS: `k1:${OLD}`, PAYLOAD_CODEC_CURRENT_KEY_ID: 'k9' }),
    ).toThrow(/PAYLOAD_CODEC_CURRENT_KEY_ID: k9 is not in PAYLOAD_CODEC_KEYS/);
  });
});

describe('recorded histories replay with the codec', () => {
  /** Replays every recorded history; returns `workflowId: outcome` lines. */
  async function replayAll(dataConverter: DataConverter | undefined): Promise<string[]> {
    const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));
    const histories = files.map((file) => ({
      workflowId: path.basename(file, '.json'),
      history: historyFromJson(JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8'))),
    }));
    const outcomes: string[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: await workflowBundle(), dataConverter },
      histories,
    )) {
      outcomes.push(`${result.workflowId}: ${result.error ? result.error.name : 'ok'}`);
    }
    return outcomes.sort();
  }

  // The histories were recorded without the codec: their payloads carry no encryption encoding,
  // so a worker with the codec must replay each of them exactly as a worker without it does
  // (whether the current workflow code still matches them is workflows/replay.test.ts's job).
  it('replay exactly as without it (unencrypted payloads pass through)', async () => {
    const withCodec = await replayAll(dataConverterFromConfig({ PAYLOAD_CODEC_KEYS: `k1:${OLD}` }));
    expect(withCodec.length).toBeGreaterThanOrEqual(15);
    expect(withCodec).toEqual(await replayAll(undefined));
  });
});

describe('a history written through the codec (Temporal dev server)', () => {
  const dataConverter = dataConverterFromConfig({ PAYLOAD_CODEC_KEYS: `k1:${NEW}` })!;
  let connection: Connection;
  let native: NativeConnection;

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
    connection = await Connection.connect({ address: testEnv('temporalAddress') });
    native = await NativeConnection.connect({ address: testEnv('temporalAddress') });
  });
  afterAll(async () => {
    await connection?.close();
    await native?.close();
  });

  /** Runs the echo workflow with `converter` on both sides; returns its result and raw history bytes. */
  async function runEcho(converter: DataConverter | undefined) {
    const taskQueue = `codec-test-${randomUUID()}`;
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: fileURLToPath(new URL('./testing/codec-echo-workflow.ts', import.meta.url)),
        logger: new DefaultLogger('ERROR'),
      }),
      activities: { echo: async (input: unknown) => input },
      dataConverter: converter,
      shutdownGraceTime: '1s',
    });
    const client = new Client({ connection, dataConverter: converter });
    const workflowId = `codec-echo-${randomUUID()}`;
    const result = await worker.runUntil(
      client.workflow.execute('codecEchoWorkflow', { taskQueue, workflowId, args: [SECRET_INPUT] }),
    );
    const { history } = await connection.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
    });
    const raw = Buffer.from(protos.temporal.api.history.v1.History.encode(history!).finish()).toString(
      'latin1',
    );
    return { result, raw };
  }

  it('holds no clear-text IP or user agent, and the codec client still reads the result', async () => {
    const { result, raw } = await runEcho(dataConverter);
    expect(result).toEqual(SECRET_INPUT);
    expect(raw).not.toContain('203.0.113.77');
    expect(raw).not.toContain('VeloraCodecTest');
    expect(raw).toContain(ENCRYPTED_ENCODING);
  });

  it('(control) without the codec the same history shows them', async () => {
    const { raw } = await runEcho(undefined);
    expect(raw).toContain('203.0.113.77');
    expect(raw).toContain('VeloraCodecTest');
  });
});
