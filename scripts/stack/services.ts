import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnvFile } from '../../lib/config.js';
import { ROOT, stackDir } from './paths.js';
import { pgUrl, type StackProfile } from './profile.js';

/** One of Velora's own processes as the stack runs it. */
export interface ServiceSpec {
  name: 'auth' | 'wallet' | 'payout-sim' | 'worker' | 'gateway';
  entry: string;
  port: number;
}

export function services(profile: StackProfile): ServiceSpec[] {
  return [
    { name: 'auth', entry: 'auth/main.ts', port: profile.ports.auth },
    { name: 'wallet', entry: 'wallet/main.ts', port: profile.ports.wallet },
    { name: 'payout-sim', entry: 'payout-sim/main.ts', port: profile.ports.payoutSim },
    { name: 'worker', entry: 'workers/main.ts', port: profile.ports.worker },
    { name: 'gateway', entry: 'gateway/main.ts', port: profile.ports.gateway },
  ];
}

/** The defaults documented in .env.example (one source for docs and the stack). */
export function envExampleDefaults(): Record<string, string> {
  return parseEnvFile(readFileSync(path.join(ROOT, '.env.example'), 'utf8'));
}

/**
 * The environment every service of `profile` gets: .env.example defaults, then the profile's
 * ports and databases, then (dev profile only) whatever the caller's environment overrides.
 */
export function stackEnv(profile: StackProfile, mongoUrl: string): Record<string, string> {
  const p = profile.ports;
  const auth = `http://127.0.0.1:${p.auth}`;
  const derived: Record<string, string> = {
    AUTH_PORT: String(p.auth),
    WALLET_PORT: String(p.wallet),
    WORKER_HEALTH_PORT: String(p.worker),
    GATEWAY_PORT: String(p.gateway),
    AUTH_URL: auth,
    AUTH_ISSUER: auth,
    AUTH_JWKS_URL: `${auth}/.well-known/jwks.json`,
    WALLET_URL: `http://127.0.0.1:${p.wallet}`,
    TEMPORAL_ADDRESS: `127.0.0.1:${p.temporal}`,
    CODEC_SERVER_PORT: String(p.codec),
    CODEC_SERVER_CORS_ORIGINS: `http://127.0.0.1:${p.temporalUi},http://localhost:${p.temporalUi}`,
    REDIS_URL: profile.redisUrl,
    AUTH_DATABASE_URL: pgUrl('velora_auth', profile.databases.auth),
    WALLET_DATABASE_URL: pgUrl('velora_wallet_service', profile.databases.wallet),
    WALLET_MIGRATION_DATABASE_URL: pgUrl('velora_wallet', profile.databases.wallet),
    MONGO_URL: mongoUrl,
    WALLET_MONGO_DB: profile.mongoDb,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(p.smtp),
    PAYOUT_SIM_PORT: String(p.payoutSim),
    PAYOUT_PROVIDER_URL: `http://127.0.0.1:${p.payoutSim}`,
    PAYOUT_SIM_WEBHOOK_URL: `http://127.0.0.1:${p.gateway}/v1/webhooks/payouts`,
    PAYOUT_SIM_STATE_FILE: path.join(stackDir(profile.name), 'payout-sim-state.json'),
  };
  const env = { ...envExampleDefaults(), ...derived, ...profile.env };
  if (profile.name === 'dev') {
    for (const key of Object.keys(env)) {
      const override = process.env[key];
      if (override !== undefined && override !== '') env[key] = override;
    }
  }
  return env;
}
