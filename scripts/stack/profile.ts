/**
 * A stack profile: every port, database and URL one running copy of Velora uses. `dev` is the
 * system command one brings up; `test` is the copy the test suite starts, on other ports and
 * databases, so tests can run while a developer's stack is up; `scratch` is a third copy for
 * trying the stack itself (or a destructive e2e file) without touching either.
 */
export interface StackProfile {
  name: 'dev' | 'test' | 'scratch';
  ports: {
    gateway: number;
    auth: number;
    wallet: number;
    worker: number;
    temporal: number;
    temporalUi: number;
    /** The payload codec server (served by the worker) the Web UI decodes through. */
    codec: number;
    mongo: number;
    /** Mailpit's SMTP port (AuthService delivers there) and its HTTP API / web UI. */
    smtp: number;
    mailpit: number;
    /** The payout provider simulator (payout-sim/), which the worker pays withdrawals through. */
    payoutSim: number;
  };
  databases: { auth: string; wallet: string; ferret: string };
  redisUrl: string;
  mongoDb: string;
  /** Variables this profile sets on top of .env.example. */
  env: Record<string, string>;
}

export const PROFILES: Record<StackProfile['name'], StackProfile> = {
  dev: {
    name: 'dev',
    ports: {
      gateway: 8080,
      auth: 8081,
      wallet: 8082,
      worker: 8083,
      temporal: 7233,
      temporalUi: 8233,
      codec: 8084,
      mongo: 27017,
      smtp: 1025,
      mailpit: 8025,
      payoutSim: 8085,
    },
    databases: { auth: 'velora_auth', wallet: 'velora_wallet', ferret: 'velora_ferretdb' },
    redisUrl: 'redis://127.0.0.1:6379/0',
    mongoDb: 'velora_wallet',
    env: {},
  },
  test: {
    name: 'test',
    ports: {
      gateway: 18080,
      auth: 18081,
      wallet: 18082,
      worker: 18083,
      temporal: 17233,
      temporalUi: 18233,
      codec: 18084,
      mongo: 27018,
      smtp: 11025,
      mailpit: 18025,
      payoutSim: 18085,
    },
    databases: { auth: 'velora_auth_e2e', wallet: 'velora_wallet_e2e', ferret: 'velora_ferretdb_test' },
    redisUrl: 'redis://127.0.0.1:6379/14',
    mongoDb: 'velora_wallet_e2e',
    // Every e2e request comes from 127.0.0.1: the per-IP auth-route limit (20/min by default)
    // would throttle the suite's own registrations. The limiter itself is tested in gateway/.
    // Traced: spans go to the OTLP receiver test/e2e/tracing.test.ts runs on this port (while it
    // does not listen, the exporter's batches are dropped; nothing waits on them).
    env: {
      RATE_LIMIT_AUTH_PER_MINUTE: '600',
      RATE_LIMIT_IP_PER_MINUTE: '6000',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:18318',
      OTEL_BSP_SCHEDULE_DELAY: '500',
      // A withdrawal's provider deadline (30 min) and late-settlement watch (24 h) in seconds, so
      // test/e2e/withdrawals.test.ts drives both branches; a result the simulator sends in ~2 s
      // still has ample time on a loaded machine.
      WITHDRAWAL_PAYOUT_TIMEOUT_MS: '15000',
      WITHDRAWAL_LATE_RESULT_WINDOW_MS: '40000',
    },
  },
  scratch: {
    name: 'scratch',
    ports: {
      gateway: 28080,
      auth: 28081,
      wallet: 28082,
      worker: 28083,
      temporal: 27233,
      temporalUi: 28233,
      codec: 28084,
      mongo: 27019,
      smtp: 21025,
      mailpit: 28025,
      payoutSim: 28085,
    },
    databases: {
      auth: 'velora_auth_scratch',
      wallet: 'velora_wallet_scratch',
      ferret: 'velora_ferretdb_scratch',
    },
    redisUrl: 'redis://127.0.0.1:6379/13',
    mongoDb: 'velora_wallet_scratch',
    env: { RATE_LIMIT_AUTH_PER_MINUTE: '600', RATE_LIMIT_IP_PER_MINUTE: '6000' },
  },
};

/** True when `name` is one of PROFILES' keys. */
export function isProfileName(name: string): name is StackProfile['name'] {
  return Object.hasOwn(PROFILES, name);
}

export const PG_HOST = process.env.PGHOST_VELORA ?? '127.0.0.1';
export const PG_PORT = Number(process.env.PGPORT_VELORA ?? 5432);

/** A connection URL for `role` on `database` (trust auth locally; production injects real URLs). */
export function pgUrl(role: string, database: string): string {
  return `postgres://${role}@${PG_HOST}:${PG_PORT}/${database}`;
}
