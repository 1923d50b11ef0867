// Writing a file piece by piece so that a failure part-way leaves no half-written file behind.
import { open, rm, type FileHandle } from "node:fs/promises";

/** Opens `path` for writing, runs `write`, closes; on any error the file is removed and the error rethrown. */
export async function writeFileOrRemove(path: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
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
