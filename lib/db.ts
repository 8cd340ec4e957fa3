import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { traceSqlQuery } from './telemetry.js';

// bigint columns (int8, OID 20) are parsed as JS bigint: money never passes through a float.
pg.types.setTypeParser(20, (value) => BigInt(value));

/** Opens a Kysely handle on a pooled PostgreSQL connection. */
export function createDb<Database>(connectionString: string, options: { max?: number; name?: string } = {}) {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.name ?? 'velora',
    // A statement that hangs must not hold a request (and its row locks) forever.
    statement_timeout: 15_000,
    idle_in_transaction_session_timeout: 30_000,
  });
  // With tracing on, every statement is a span of the request that sent it (lib/telemetry.ts).
  const log = traceSqlQuery(options.name ?? 'velora');
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...(log && { log }) }), pool };
}

/** Migrations are listed in code (not discovered on disk) so they work the same from `tsx` and from a build. */
class StaticMigrationProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  async getMigrations() {
    return this.migrations;
  }
}

/** Applies every pending migration, failing loudly with the name of the migration that broke. */
export async function migrateToLatest<Database>(db: Kysely<Database>, migrations: Record<string, Migration>) {
  // In number order only: every database must have applied the same migrations in the same
  // order, so a fresh one and an upgraded one end with the same schema.
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider(migrations) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${reason}`);
  }
  return results ?? [];
}

/** Postgres error codes the services map to domain outcomes. */
export const PgCode = {
  uniqueViolation: '23505',
  checkViolation: '23514',
  foreignKeyViolation: '23503',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
} as const;

/** Returns the SQLSTATE of a pg error, if it is one. */
export function pgErrorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/** Returns the violated constraint name of a pg error, if any. */
export function pgConstraint(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'constraint' in err && typeof err.constraint === 'string'
    ? err.constraint
    : undefined;
}
