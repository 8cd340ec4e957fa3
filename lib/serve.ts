import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Logger } from './logger.js';
import { shutdownTelemetry } from './telemetry.js';

export interface ServeOptions {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Env: the server only needs fetch()
  app: Hono<any>;
  port: number;
  host: string;
  log: Logger;
  /** Releases pools and clients after the server stopped accepting requests. */
  onClose?: () => Promise<void>;
  /**
   * Install the SIGTERM/SIGINT shutdown (default). A second listener of the same process (a
   * private metrics port) passes `false` and is closed by the main one's `onClose`.
   */
  handleSignals?: boolean;
}

/**
 * Starts the HTTP server and installs SIGTERM/SIGINT handlers that stop accepting requests,
 * let in-flight ones finish (up to 10 s), then close dependencies and exit.
 */
export function serveApp(options: ServeOptions): Promise<ServerType> {
  return new Promise((resolve) => {
    const server = serve({ fetch: options.app.fetch, port: options.port, hostname: options.host }, (info) => {
      options.log.info({ port: info.port, host: options.host }, 'listening');
      resolve(server);
    });
    // Slowloris protection: a client must send its headers and body within these limits.
    if ('headersTimeout' in server) {
      server.headersTimeout = 10_000;
      server.requestTimeout = 30_000;
    }
    if (options.handleSignals === false) return;
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      options.log.info({ signal }, 'shutting down');
      const force = setTimeout(() => process.exit(1), 10_000).unref();
      server.close(() => {
        void (options.onClose?.() ?? Promise.resolve())
          .catch((err: unknown) => options.log.error({ err }, 'error while closing'))
          // Spans still batched go to the collector before the process ends.
          .then(() => shutdownTelemetry())
          .catch((err: unknown) => options.log.warn({ err }, 'spans not flushed'))
          .finally(() => {
            clearTimeout(force);
            process.exit(0);
          });
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
