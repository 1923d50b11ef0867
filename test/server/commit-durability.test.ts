// The request log's commits reach the disk off the event loop (commit-durability.ts): a finish still resolves
// only once its row is synced, the connection's own setting (FULL) is kept for every other store, and syncs
// asked for while one runs share one more.
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commitDurability, WalDurability, type CommitDurability } from "../../src/server/store/commit-durability.js";
import { openServerDatabase } from "../../src/server/store/database.js";
import { RequestLog } from "../../src/server/store/request-log.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-durability-");
const databasePath = () => join(newDirectory(), "camelid.sqlite");

/** A sync the test completes by hand, counting the files asked for. */
function heldSyncs() {
  const calls: { path: string; done: () => void; fail: (error: Error) => void }[] = [];
  const syncFile = (path: string) => new Promise<void>((done, fail) => calls.push({ path, done, fail }));
  return { calls, syncFile };
}
const settledYet = async (promise: Promise<unknown>) => {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
};
const start = (log: RequestLog, id: string) => log.start({ id, endpoint: "completions", model: "m", client: "c", owner: null, stream: false, parameters: {} });

describe("request log durability off the event loop", () => {
  it("a finished row is committed at once but its promise waits for the sync of the -wal file", async () => {
    const path = databasePath();
    const db = openServerDatabase(path);
    const { calls, syncFile } = heldSyncs();
    const log = new RequestLog(db, Date.now, commitDurability(db, syncFile));
    const reader = openServerDatabase(path);
    start(log, "a");
    const finished = log.completeSoon("a", { status: "completed", httpStatus: 200 });
    await new Promise((resolve) => setImmediate(resolve));
    // Committed (another connection reads it), not yet confirmed on disk.
    expect(reader.prepare("SELECT status FROM request_log WHERE id = 'a'").get()).toEqual({ status: "completed" });
    expect(calls.map((call) => call.path)).toEqual([`${path}-wal`]);
    expect(await settledYet(finished)).toBe(false);
    calls[0].done();
    await finished;
    reader.close();
    db.close();
  });

  it("a failed sync rejects the finishes that waited on it and reports the lost starts", async () => {
    const db = openServerDatabase(databasePath());
    const { calls, syncFile } = heldSyncs();
    const log = new RequestLog(db, Date.now, commitDurability(db, syncFile));
    const lost: unknown[] = [];
    log.reportLostStartsTo((error) => lost.push(error));
    start(log, "a");
    const finished = log.completeSoon("a", { status: "completed", httpStatus: 200 });
    await new Promise((resolve) => setImmediate(resolve));
    calls[0].fail(Object.assign(new Error("EIO: i/o error"), { code: "EIO" }));
    await expect(finished).rejects.toThrow(/EIO/);
    expect(lost).toHaveLength(1);
    db.close();
  });

  it("commits at synchronous=NORMAL and gives the connection its FULL back; inside a transaction it commits with that one", () => {
    const db = openServerDatabase(databasePath());
    const durability = new WalDurability(db, async () => undefined);
    const levels: number[] = [];
    durability.commit(() => levels.push(Number(db.pragma("synchronous", { simple: true }))));
    expect(levels).toEqual([1]);
    expect(db.pragma("synchronous", { simple: true })).toBe(2);
    // SQLite refuses a level change inside a transaction: the nested write joins the outer one.
    db.transaction(() => durability.commit(() => levels.push(Number(db.pragma("synchronous", { simple: true })))))();
    expect(levels).toEqual([1, 2]);
    db.close();
  });

  it("syncs asked for while one runs share a single next one, which covers every commit before it", async () => {
    const db = openServerDatabase(databasePath());
    const { calls, syncFile } = heldSyncs();
    const durability: CommitDurability = new WalDurability(db, syncFile);
    const first = durability.persisted();
    const waiting = [durability.persisted(), durability.persisted(), durability.persisted()];
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toHaveLength(1);
    calls[0].done();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toHaveLength(2);
    expect(await settledYet(Promise.all(waiting))).toBe(false);
    calls[1].done();
    await Promise.all(waiting);
    // Nothing running: the next one starts at once.
    const later = durability.persisted();
    expect(calls).toHaveLength(3);
    calls[2].done();
    await later;
    db.close();
  });

  it("a missing -wal file (checkpointed away) counts as synced; an in-memory database syncs nothing", async () => {
    const db = openServerDatabase(databasePath());
    await new WalDurability(db, async (path) => {
      throw Object.assign(new Error(`ENOENT: no such file ${path}`), { code: "ENOENT" });
    }).persisted();
    db.close();
    const memory = openServerDatabase(":memory:");
    const { calls, syncFile } = heldSyncs();
    const durability = commitDurability(memory, syncFile);
    durability.commit(() => undefined);
    await durability.persisted();
    expect(calls).toHaveLength(0);
    memory.close();
  });

  it("the real sync runs against the file SQLite wrote, opened once for every sync and let go of at close", async () => {
    const path = databasePath();
    const db = openServerDatabase(path);
    const log = new RequestLog(db);
    // Descriptors of this process open on the -wal file (Linux's /proc; elsewhere only the outcome is checked).
    const procFds = "/proc/self/fd";
    const walDescriptors = () =>
      readdirSync(procFds).filter((fd) => {
        try {
          return readlinkSync(`${procFds}/${fd}`) === `${path}-wal`;
        } catch {
          return false;
        }
      }).length;
    const sqliteOwn = existsSync(procFds) ? walDescriptors() : 0;
    for (const id of ["a", "b", "c"]) {
      start(log, id);
      await log.completeSoon(id, { status: "completed", httpStatus: 200 });
    }
    expect(log.get("c")?.status).toBe("completed");
    if (existsSync(procFds)) expect(walDescriptors()).toBe(sqliteOwn + 1);
    start(log, "d");
    const last = log.completeSoon("d", { status: "completed", httpStatus: 200 });
    await log.close();
    await last;
    if (existsSync(procFds)) expect(walDescriptors()).toBe(sqliteOwn);
    db.close();
  });
});
