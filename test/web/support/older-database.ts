import Database from "better-sqlite3";
import { migrations } from "../../../src/server/store/migrations.js";

/**
 * An in-memory database at an older schema (the first `version` migrations), as an older camelid
 * left it: tests fill it the old way, then run `migrate` and check nothing was lost.
 */
export function databaseAtVersion(version: number): Database.Database {
  const db = new Database(":memory:");
  db.pragma("foreign_keys = ON");
  for (const [index, sql] of migrations.slice(0, version).entries()) {
    db.exec(sql);
    db.pragma(`user_version = ${index + 1}`);
  }
  return db;
}
