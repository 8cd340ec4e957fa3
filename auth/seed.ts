import type { Kysely } from 'kysely';
import type { Logger } from '../lib/logger.js';
import type { AuthConfig } from './config.js';
import type { Database } from './database.js';
import { upsertClient } from './oauth/clients.repository.js';
import { FIRST_PARTY_CLIENT_ID, USER_TOKEN_SCOPES } from './tokens/scopes.js';
import { hashPassword } from './users/password-hasher.js';
import { normaliseEmail } from './users/password-policy.js';
import { upsertUserByEmail } from './users/users.repository.js';

/** Scopes of the service clients (docs/internal-api.md). */
const ORCHESTRATOR_SCOPES = ['auth:internal', 'wallet:read', 'wallet:write', 'wallet:admin'];
const GATEWAY_SCOPES = ['auth:internal', 'wallet:read', 'wallet:admin'];

/**
 * Creates or updates, from the environment: the admin user, the orchestrator and gateway
 * clients (secrets stored as Argon2id hashes) and the first-party public client that
 * `/v1/auth/login` sessions belong to. Safe to run at every start.
 */
export async function seedFromConfig(db: Kysely<Database>, config: AuthConfig, log: Logger): Promise<void> {
  await upsertClient(db, {
    client_id: FIRST_PARTY_CLIENT_ID,
    name: 'Velora first-party apps',
    secret_hash: null,
    grant_types: ['refresh_token'],
    scopes: [...USER_TOKEN_SCOPES],
    redirect_uris: [],
  });
  const services = [
    {
      id: config.ORCHESTRATOR_CLIENT_ID,
      secret: config.ORCHESTRATOR_CLIENT_SECRET,
      name: 'Velora orchestrator',
      scopes: ORCHESTRATOR_SCOPES,
    },
    {
      id: config.GATEWAY_CLIENT_ID,
      secret: config.GATEWAY_CLIENT_SECRET,
      name: 'Velora gateway',
      scopes: GATEWAY_SCOPES,
    },
  ];
  for (const client of services) {
    if (!client.id || !client.secret) continue;
    await upsertClient(db, {
      client_id: client.id,
      name: client.name,
      secret_hash: await hashPassword(client.secret),
      grant_types: ['client_credentials'],
      scopes: client.scopes,
      redirect_uris: [],
    });
    log.info({ client_id: client.id }, 'service client seeded');
  }
  if (config.VELORA_ADMIN_EMAIL && config.VELORA_ADMIN_PASSWORD) {
    const admin = await upsertUserByEmail(db, {
      email: normaliseEmail(config.VELORA_ADMIN_EMAIL),
      phone: null,
      password_hash: await hashPassword(config.VELORA_ADMIN_PASSWORD),
      roles: ['user', 'admin'],
      status: 'active',
      email_verified_at: new Date(),
      disabled_reason: null,
    });
    log.info({ user_id: admin.id }, 'admin user seeded');
  }
}
