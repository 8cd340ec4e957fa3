import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, createServer, type Server } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalTlsFromConfig } from './temporal-tls.js';

const SCRIPT = fileURLToPath(new URL('../scripts/compose/generate-temporal-certs.sh', import.meta.url));
let certs: string;
let otherCa: string;
let server: Server;
let port: number;

const file = (dir: string, name: string) => path.join(dir, name);

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'velora-tls-'));
  certs = file(dir, 'certs');
  otherCa = file(dir, 'other');
  execFileSync('sh', [SCRIPT, certs]);
  execFileSync('sh', [SCRIPT, otherCa]);
  // Stands in for Temporal's frontend as compose configures it: its certificate, client certificates required.
  server = createServer({
    cert: readFileSync(file(certs, 'temporal.pem')),
    key: readFileSync(file(certs, 'temporal.key')),
    ca: readFileSync(file(certs, 'ca.pem')),
    requestCert: true,
    rejectUnauthorized: true,
  });
  server.on('secureConnection', (socket) => socket.end('hello'));
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Connects the way a Temporal client with `tls` would; resolves to what the server said or the error. */
function handshake(tls: ReturnType<typeof temporalTlsFromConfig>): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: tls?.serverNameOverride,
      ca: tls?.serverRootCACertificate ? Buffer.from(tls.serverRootCACertificate) : undefined,
      cert: tls?.clientCertPair ? Buffer.from(tls.clientCertPair.crt) : undefined,
      key: tls?.clientCertPair ? Buffer.from(tls.clientCertPair.key) : undefined,
    });
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.on('end', () => resolve(data || 'closed'));
    socket.on('error', (err) => resolve(`error: ${err.message}`));
  });
}

const config = (dir: string, name: string) => ({
  TEMPORAL_TLS_CA_PATH: file(certs, 'ca.pem'),
  TEMPORAL_TLS_CERT_PATH: file(dir, `${name}.pem`),
  TEMPORAL_TLS_KEY_PATH: file(dir, `${name}.key`),
  TEMPORAL_TLS_SERVER_NAME: 'temporal',
});

describe('Temporal mutual TLS (certificates of scripts/compose/generate-temporal-certs.sh)', () => {
  it('is off without a certificate (the local dev server speaks plain gRPC)', () => {
    expect(temporalTlsFromConfig({})).toBeUndefined();
  });

  it.each(['gateway', 'worker'])('lets the %s in with its certificate', async (name) => {
    expect(await handshake(temporalTlsFromConfig(config(certs, name)))).toBe('hello');
  });

  it('refuses a client without a certificate, and one from another CA', async () => {
    const noCert = temporalTlsFromConfig(config(certs, 'gateway'))!;
    expect(await handshake({ ...noCert, clientCertPair: undefined })).not.toBe('hello');
    expect(await handshake(temporalTlsFromConfig(config(otherCa, 'gateway')))).not.toBe('hello');
  });

  it('names the variable of a missing half or an unreadable file', () => {
    expect(() => temporalTlsFromConfig({ TEMPORAL_TLS_CERT_PATH: file(certs, 'gateway.pem') })).toThrow(
      /TEMPORAL_TLS_KEY_PATH: required with TEMPORAL_TLS_CERT_PATH/,
    );
    expect(() =>
      temporalTlsFromConfig({
        ...config(certs, 'gateway'),
        TEMPORAL_TLS_CA_PATH: file(certs, 'missing.pem'),
      }),
    ).toThrow(/TEMPORAL_TLS_CA_PATH: cannot read .*missing\.pem \(ENOENT\)/);
  });
});
