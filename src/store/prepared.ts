import { sql, type SQL } from 'drizzle-orm';
import type { StoreDb } from './open.js';

/**
 * Statements prepared once per connection and reused. A query built and run the ordinary Drizzle way is
 * compiled by SQLite again on every call; on the per-IOC paths (each vendor lookup, each score) that
 * compiling and building cost more than running the statement.
 */
export function preparedPerConnection<T>(prepare: (db: StoreDb) => T): (db: StoreDb) => T {
  const byConnection = new WeakMap<object, T>();
  return (db) => {
    let statements = byConnection.get(db.$client);
    if (!statements) {
      statements = prepare(db);
      byConnection.set(db.$client, statements);
    }
    return statements;
  };
}

/**
 * A placeholder per name, each bound when the statement runs (`{ name: value }`). Wrapped as SQL so that
 * Drizzle takes them in an update's `set` as well as in an insert's `values`. The values go to SQLite as
 * they are, without the column's mapping: booleans must be passed as 0 or 1.
 */
export function placeholders<Name extends string>(...names: Name[]): Record<Name, SQL> {
  return Object.fromEntries(names.map((name) => [name, sql`${sql.placeholder(name)}`])) as Record<Name, SQL>;
}
