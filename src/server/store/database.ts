import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { migrations } from "./migrations.js";

export type ServerDatabase = Database.Database;

/**
 * Opens (creating) the server's SQLite file. WAL lets readers (the playground, /api) run beside
 * the writer; synchronous=FULL fsyncs the WAL at every commit, so a row whose commit returned is on
 * disk before the client is told the request finished: it survives kill -9 and power loss. The request
 * log gets the same guarantee with its fsync off the event loop (commit-durability.ts).
 */
export function openServerDatabase(path: string): ServerDatabase {
  if (path !== ":memory:") createPrivateFile(path);
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

/**
 * The database holds every prompt and answer: it (and the -wal/-shm files SQLite creates with the
 * main file's mode) must be readable by its owner only, whatever the umask. The folder is created
 * owner-only too; an existing file is tightened.
 */
function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) closeSync(openSync(path, "a", 0o600));
  chmodSync(path, 0o600);
  for (const suffix of ["-wal", "-shm"]) if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
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
