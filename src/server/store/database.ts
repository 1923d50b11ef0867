import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { migrations } from "./migrations.js";

export type ServerDatabase = Database.Database;

/**
 * Opens (creating) the server's SQLite file. WAL lets readers (the playground, /api) run beside
 * the writer; synchronous=FULL fsyncs the WAL at every commit, so a row whose commit returned is on
 * disk before the client is told the request finished: it survives kill -9 and power loss.
 */
export function openServerDatabase(path: string): ServerDatabase {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

/** Applies the migrations newer than the file's `user_version`, each in its own transaction. */
export function migrate(db: ServerDatabase): number {
  const current = Number(db.pragma("user_version", { simple: true }));
  const latest = migrations.length;
  if (current > latest) {
    throw new Error(`the database schema is version ${current}, newer than this camelid (${latest}); upgrade camelid`);
  }
  for (let version = current + 1; version <= latest; version++) {
    db.transaction(() => {
      db.exec(migrations[version - 1]);
      db.pragma(`user_version = ${version}`);
    })();
  }
  return latest;
}
