import { pino, type DestinationStream, type Logger } from 'pino';
import { activeTraceIds } from './telemetry.js';

export type { Logger };

/**
 * Paths that may carry secrets. pino replaces them before a line is written, so a careless
 * `log.info({ body })` can never leak a password, OTP code or token.
 */
const REDACT = [
  'password',
  'new_password',
  'code',
  'otp',
  'secret',
  'client_secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'authorization',
  'cookie',
  'code_verifier',
  'private_key',
  '*.password',
  '*.code',
  '*.otp',
  '*.secret',
  '*.client_secret',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.authorization',
  '*.code_verifier',
  '*.private_key',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
];

/**
 * Creates the structured JSON logger of one service. A line written while a span is active
 * (tracing on: a request, an activity) carries its `trace_id` and `span_id`, so the collector's
 * trace and the log lines of every service it crossed find each other. `destination` defaults to
 * stdout.
 */
export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: service,
    level,
    base: { service },
    mixin: () => activeTraceIds() ?? {},
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
