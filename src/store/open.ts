import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../project-root.js';
import * as schema from './schema.js';

/** The Drizzle handle, with the raw connection for the few prepared hot-path statements. */
export type StoreDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface Store {
  db: StoreDb;
  /** The raw connection, for integrity checks and pragmas. */
  sqlite: Database.Database;
  close(): void;
}

/**
 * Opens the SQLite store and applies the committed migrations. WAL keeps readers off the writer's back
 * and makes a killed process lose at most the open transaction; synchronous=NORMAL is safe under WAL.
 */
export function openStore(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: join(PROJECT_ROOT, 'drizzle') });
  return { db, sqlite, close: () => sqlite.close() };
}
