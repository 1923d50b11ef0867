import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

/**
 * Writes a file so that a kill at any moment leaves either the old file or the complete new one:
 * data goes to a temporary file beside it, is flushed to disk, and then renamed over the target.
 */
export function writeFileAtomic(path: string, chunks: readonly Uint8Array[] | string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, "w");
  try {
    if (typeof chunks === "string") writeSync(fd, chunks);
    else for (const chunk of chunks) writeSync(fd, chunk);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, path);
}
