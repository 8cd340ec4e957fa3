/**
 * TLS with a client certificate on the Temporal connections of the gateway and the worker
 * (mutual TLS: the frontend only talks to holders of a certificate from the deployment's CA, so
 * reaching :7233 is no longer enough to start or signal a workflow). Off when no certificate is
 * configured (the local stack's dev server speaks plain gRPC on 127.0.0.1); required in production.
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { z } from 'zod';
import { ConfigError, env, requiredInProduction } from './config.js';

/** Environment of every process that connects to Temporal (spread into its schema). */
export const temporalTlsEnv = {
  /** PEM of the CA that signed the frontend's certificate (default: the system's roots). */
  TEMPORAL_TLS_CA_PATH: env.optional(z.string()),
  /** PEM certificate and key this process presents to the frontend. */
  TEMPORAL_TLS_CERT_PATH: env.optional(requiredInProduction(z.string())),
  TEMPORAL_TLS_KEY_PATH: env.optional(requiredInProduction(z.string())),
  /** The name in the frontend's certificate, when it differs from the host of TEMPORAL_ADDRESS. */
  TEMPORAL_TLS_SERVER_NAME: env.optional(z.string()),
};

export interface TemporalTlsConfig {
  TEMPORAL_TLS_CA_PATH?: string;
  TEMPORAL_TLS_CERT_PATH?: string;
  TEMPORAL_TLS_KEY_PATH?: string;
  TEMPORAL_TLS_SERVER_NAME?: string;
}

/**
 * The `tls` option of `Connection` / `NativeConnection`: undefined (plain gRPC) when no
 * certificate is configured. Reads the files once at start; a missing half of the pair or an
 * unreadable file fails naming the variable.
 */
export function temporalTlsFromConfig(config: TemporalTlsConfig): TLSConfig | undefined {
  const { TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_KEY_PATH: key } = config;
  if (!cert && !key) return undefined;
  if (!cert || !key) {
    throw new ConfigError(
      `${cert ? 'TEMPORAL_TLS_KEY_PATH' : 'TEMPORAL_TLS_CERT_PATH'}: required with ${cert ? 'TEMPORAL_TLS_CERT_PATH' : 'TEMPORAL_TLS_KEY_PATH'}`,
    );
  }
  return {
    clientCertPair: { crt: read('TEMPORAL_TLS_CERT_PATH', cert), key: read('TEMPORAL_TLS_KEY_PATH', key) },
    serverRootCACertificate: config.TEMPORAL_TLS_CA_PATH
      ? read('TEMPORAL_TLS_CA_PATH', config.TEMPORAL_TLS_CA_PATH)
      : undefined,
    serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME,
  };
}

function read(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(
      `${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}
