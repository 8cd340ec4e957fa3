import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { traceSqlQuery } from './telemetry.js';

// bigint columns (int8, OID 20) are parsed as JS bigint: money never passes through a float.
pg.types.setTypeParser(20, (value) => BigInt(value));

/** SQL texts registered with {@link namedStatement}, by text: the name each is prepared under. */
const NAMED_STATEMENTS = new Map<string, string>();

/**
 * Registers `sql` as a named prepared statement and returns it: run through Kysely as usual
 * (`db.executeQuery(CompiledQuery.raw(sql, params))`), each pooled connection parses and plans
 * it once and then only binds and executes it. For the hottest reads (a wallet read per
 * gateway request): parsing and planning a one-row primary-key select cost PostgreSQL about as
 * much as running it. Name the columns rather than `*`, so a column added by a later migration
 * does not change a prepared statement's result type under a running copy.
 */
export function namedStatement(name: string, sql: string): string {
  const existing = [...NAMED_STATEMENTS].find(([, n]) => n === name);
  if (existing && existing[0] !== sql)
    throw new Error(`namedStatement: ${name} is already another statement`);
  NAMED_STATEMENTS.set(sql, name);
  return sql;
}

/**
 * The pool's connection: Kysely sends every statement as `query(text, values)`; a text
 * registered by {@link namedStatement} goes out under its name, everything else unchanged.
 */
class NamingClient extends pg.Client {
  // pg's query() has many overloads; Kysely uses (text, values) and gets a promise back.
  override query(...args: unknown[]): never {
    const [text, values] = args;
    const name = typeof text === 'string' && args.length === 2 ? NAMED_STATEMENTS.get(text) : undefined;
    const query = (...a: unknown[]) => (super.query as (...b: unknown[]) => never).apply(this, a);
    return name ? query({ name, text, values }) : query(...args);
  }
}

/** Opens a Kysely handle on a pooled PostgreSQL connection. */
export function createDb<Database>(connectionString: string, options: { max?: number; name?: string } = {}) {
  const pool = new pg.Pool({
    Client: NamingClient,
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
