// The one way camelid replaces a file: a kill at any moment leaves either the old file or the
// complete new one. Data goes to a temporary file beside the target, is flushed to disk (fsync, so
// a power cut cannot rename an empty file over good data), and is then renamed over the target.
import { randomUUID } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { open, rename, rm, type FileHandle } from "node:fs/promises";

export interface AtomicWriteOptions {
  /** The temporary file's path; by default unique per call, so concurrent writers of one target never share one. */
  temporary?: string;
}

function temporaryPathFor(path: string, options: AtomicWriteOptions | undefined): string {
  return options?.temporary ?? `${path}.tmp-${process.pid}-${randomUUID()}`;
}

/** Writes `content` (text or byte chunks) to `path` atomically, synchronously. */
export function writeFileAtomic(path: string, content: readonly Uint8Array[] | string, options?: AtomicWriteOptions): void {
  const temporary = temporaryPathFor(path, options);
  const fd = openSync(temporary, "w");
  try {
    if (typeof content === "string") writeSync(fd, content);
    else for (const chunk of content) writeSync(fd, chunk);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, path);
}

/**
 * Lets `write` produce the file at a temporary path (writers that stream, such as writeGguf or
 * writeSafetensors), then flushes it and renames it over `path`; on failure the temporary is removed.
 */
export async function replaceFileAtomic<T>(path: string, write: (temporary: string) => Promise<T>, options?: AtomicWriteOptions): Promise<T> {
  const temporary = temporaryPathFor(path, options);
  try {
    const result = await write(temporary);
    const handle = await open(temporary, "r+");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    return result;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Streams a file through `write`; if `write` fails the handle is closed and the partial file removed,
 * so a failed writer never leaves a truncated file behind (GGUF and safetensors writers).
 */
export async function writeFileStreaming(path: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  const handle = await open(path, "w");
  try {
    await write(handle);
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(path, { force: true });
    throw error;
  }
}
