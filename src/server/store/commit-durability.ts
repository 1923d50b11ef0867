// How the request log's commits reach the disk without stopping the event loop. With synchronous=FULL every
// commit is an fsync inside better-sqlite3's synchronous call: measured under `bench/engine-parity.ts` at 0.7-108 ms
// each on this shared disk, one per request start and one per group of finishes, during which no other request
// is parsed or sent on. In WAL mode the same guarantee comes in two steps: commit with synchronous=NORMAL
// (the frames are written to the -wal file, no fsync; WAL mode stays consistent at NORMAL, only durability waits),
// then fdatasync that file on libuv's thread pool. Every frame committed before the sync started is on disk when
// it resolves, so a finished row's promise still resolves only once the row is on disk.
import { close, fdatasync, open } from "node:fs";
import type { ServerDatabase } from "./database.js";

export interface CommitDurability {
  /** Runs `write` as one transaction; returns once committed (readers see it), maybe before it is on disk. */
  commit(write: () => void): void;
  /** Resolves once every commit made before the call is on disk; rejects when the disk refused. */
  persisted(): Promise<void>;
  /** Waits for the syncs under way and lets go of the file they use (the database closes next). */
  close(): Promise<void>;
}

/** Flushes one file's data to disk (fdatasync), off the event loop. */
export type SyncFile = (path: string) => Promise<void>;

/** One file kept open for its syncs: an open and a close per sync were two more trips through libuv's thread pool. */
class KeptOpenFile {
  private fd?: Promise<number>;

  readonly sync: SyncFile = async (path) => {
    // A plain descriptor, not a FileHandle: a log that is never closed (tests) leaves no warning at garbage collection.
    this.fd ??= new Promise((resolve, reject) => open(path, "r+", (error, fd) => (error ? reject(error) : resolve(fd))));
    let fd: number;
    try {
      fd = await this.fd;
    } catch (error) {
      this.fd = undefined;
      throw error;
    }
    await new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
  };

  async close(): Promise<void> {
    const fd = await this.fd?.catch(() => undefined);
    this.fd = undefined;
    if (fd !== undefined) await new Promise<void>((resolve) => close(fd, () => resolve()));
  }
}

/** The connection's own setting does the work, inside the call (an in-memory or non-WAL database). */
class InlineDurability implements CommitDurability {
  constructor(private readonly db: ServerDatabase) {}

  commit(write: () => void): void {
    this.db.transaction(write)();
  }

  persisted(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {}
}

/** Commits at synchronous=NORMAL and syncs the -wal file in the background (see the top of this file). */
export class WalDurability implements CommitDurability {
  /** The connection's own level, given back after each commit. */
  private readonly level: number;
  private readonly walPath: string;
  /** The sync running now, and the one that will start after it for commits made meanwhile. */
  private running?: Promise<void>;
  private next?: Promise<void>;
  private readonly file = new KeptOpenFile();
  private readonly syncFile: SyncFile;

  constructor(
    private readonly db: ServerDatabase,
    syncFile?: SyncFile,
  ) {
    this.syncFile = syncFile ?? this.file.sync;
    // Other stores on this connection keep its own setting (FULL): only these commits skip the inline fsync.
    this.level = Number(db.pragma("synchronous", { simple: true }));
    this.walPath = `${db.name}-wal`;
  }

  commit(write: () => void): void {
    // SQLite refuses to change the level inside a transaction: a write nested in one commits with it.
    if (this.db.inTransaction) {
      this.db.transaction(write)();
      return;
    }
    // exec, not a prepared statement: SQLite applies this pragma when it compiles it, so a statement
    // prepared once would not set the level again on its first run.
    this.db.exec("PRAGMA synchronous = NORMAL");
    try {
      this.db.transaction(write)();
    } finally {
      this.db.exec(`PRAGMA synchronous = ${this.level}`);
    }
  }

  persisted(): Promise<void> {
    // A sync that starts after this call covers every commit made before it; callers arriving while one
    // runs share the single sync queued behind it (a group commit).
    if (this.next) return this.next;
    if (!this.running) return this.start();
    const next = this.running.catch(() => undefined).then(() => {
      this.next = undefined;
      return this.start();
    });
    this.next = next;
    return next;
  }

  async close(): Promise<void> {
    await (this.next ?? this.running)?.catch(() => undefined);
    await this.file.close();
  }

  private start(): Promise<void> {
    const running = this.syncWal().finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    return running;
  }

  private async syncWal(): Promise<void> {
    try {
      await this.syncFile(this.walPath);
    } catch (error) {
      // No -wal file: everything was checkpointed into the database file (synced by that checkpoint).
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
}

/** The quickest way `db` can make a commit durable: WalDurability for a WAL file, else the inline setting. */
export function commitDurability(db: ServerDatabase, syncFile?: SyncFile): CommitDurability {
  const wal = !db.memory && String(db.pragma("journal_mode", { simple: true })).toLowerCase() === "wal";
  return wal ? new WalDurability(db, syncFile) : new InlineDurability(db);
}
