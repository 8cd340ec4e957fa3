import { sql, type Kysely } from 'kysely';

/**
 * Issue 9, item 4: PostgreSQL evaluates every CHECK constraint of a table on every UPDATE, and
 * rebuilds each one from its stored text for every statement. A transfer updates wallet rows
 * three times (reserve, and both sides of the capture) and its hold twice, so the checks of
 * columns those updates never touch — kind, system name, status, currency — were ~18 % of
 * PostgreSQL's instructions per reserve + capture (callgrind, docs/wallet.md).
 *
 * The same rules become domains: a domain's check runs whenever a value is written to the
 * column (every INSERT, and an UPDATE that sets it), read from the type cache instead of
 * rebuilt, and not at all for an UPDATE that leaves the column alone. What may be stored is
 * unchanged. Rules over several columns (owner, available ≥ −overdraft, shard, captured amount)
 * stay table CHECKs, as do the single-column money rules, so "no negative balance" is still a
 * constraint on the row.
 */
const DOMAINS: {
  domain: string;
  base: string;
  check: string;
  columns: [table: string, column: string, constraint: string][];
}[] = [
  {
    domain: 'velora_wallet_kind',
    base: 'text',
    check: `value in ('user', 'system')`,
    columns: [['wallets', 'kind', 'wallets_kind_check']],
  },
  {
    domain: 'velora_system_name',
    base: 'text',
    check: `value in ('funding', 'settlement', 'fees')`,
    columns: [['wallets', 'system_name', 'wallets_system_name_check']],
  },
  {
    domain: 'velora_wallet_status',
    base: 'text',
    check: `value in ('active', 'frozen', 'closed')`,
    columns: [['wallets', 'status', 'wallets_status_check']],
  },
  {
    domain: 'velora_currency',
    base: 'char(3)',
    check: `value ~ '^[A-Z]{3}$'`,
    columns: [['wallets', 'currency', 'wallets_currency_check']],
  },
  {
    domain: 'velora_hold_status',
    base: 'text',
    check: `value in ('active', 'captured', 'released', 'expired')`,
    columns: [['holds', 'status', 'holds_status_check']],
  },
  {
    domain: 'velora_hold_kind',
    base: 'text',
    check: `value in ('hold', 'transfer')`,
    columns: [['holds', 'kind', 'holds_kind_check']],
  },
  {
    domain: 'velora_journal_kind',
    base: 'text',
    check: `value in ('deposit', 'withdrawal', 'transfer', 'reversal')`,
    columns: [['journal_transactions', 'kind', 'journal_transactions_kind_check']],
  },
  {
    domain: 'velora_claim_state',
    base: 'text',
    check: `value in ('reserved', 'released')`,
    columns: [['transfer_claims', 'state', 'transfer_claims_state_check']],
  },
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const d of DOMAINS) {
    await sql`create domain ${sql.raw(d.domain)} as ${sql.raw(d.base)} check (${sql.raw(d.check)})`.execute(
      db,
    );
    for (const [table, column, constraint] of d.columns) {
      // Rewrites the table once, checking every existing row against the domain.
      await sql`alter table ${sql.table(table)} drop constraint ${sql.raw(constraint)},
        alter column ${sql.ref(column)} type ${sql.raw(d.domain)}`.execute(db);
    }
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const d of DOMAINS) {
    for (const [table, column, constraint] of d.columns) {
      await sql`alter table ${sql.table(table)} alter column ${sql.ref(column)} type ${sql.raw(d.base)},
        add constraint ${sql.raw(constraint)} check (${sql.raw(d.check.replace('value', column))})`.execute(
        db,
      );
    }
    await sql`drop domain ${sql.raw(d.domain)}`.execute(db);
  }
}
