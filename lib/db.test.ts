import { CompiledQuery, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '../test/support/test-env.js';
import { createDb, namedStatement } from './db.js';

describe('named statements', () => {
  const { db } = createDb(testEnv('walletDatabaseUrl'), { max: 1, name: 'db-test' });
  afterAll(() => db.destroy());

  it('runs a registered text as a prepared statement of its connection, other texts unnamed', async () => {
    const text = namedStatement('db_test_echo', 'select $1::int + 1 as n');
    const prepared = await db.connection().execute(async (conn) => {
      for (const n of [1, 2, 3]) {
        const { rows } = await conn.executeQuery<{ n: number }>(CompiledQuery.raw(text, [n]));
        expect(rows).toEqual([{ n: n + 1 }]);
      }
      await conn.executeQuery(CompiledQuery.raw('select $1::int as unnamed', [1]));
      const { rows } = await sql<{
        name: string;
        statement: string;
      }>`select name, statement from pg_prepared_statements`.execute(conn);
      return rows;
    });
    expect(prepared).toEqual([{ name: 'db_test_echo', statement: 'select $1::int + 1 as n' }]);
  });

  it('refuses one name for two texts (a connection would refuse the second Parse)', () => {
    namedStatement('db_test_twice', 'select 1');
    expect(namedStatement('db_test_twice', 'select 1')).toBe('select 1');
    expect(() => namedStatement('db_test_twice', 'select 2')).toThrow(/already another statement/);
  });
});
