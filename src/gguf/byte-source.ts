// Random access to a GGUF file's bytes. The reader only ever asks for the ranges it needs, so
// reading the header of a multi-GB model touches a few hundred KB, and tests can use in-memory bytes.
import { open, type FileHandle } from "node:fs/promises";
import { InvalidArgumentError } from "../errors/index.js";

export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** A name for error messages (the file path), when there is one. */
  readonly name?: string;
  /** Reads up to `length` bytes at `offset` into `target` (from its start); returns how many were read. */
  readInto(target: Uint8Array, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

/** Bytes already in memory (tests, fuzzing, freshly serialized files). */
export class MemoryByteSource implements ByteSource {
  constructor(
    private readonly bytes: Uint8Array,
    readonly name?: string,
  ) {}

  get size(): number {
    return this.bytes.byteLength;
  }

  async readInto(target: Uint8Array, offset: number, length: number): Promise<number> {
    const end = Math.min(this.bytes.byteLength, offset + length);
    if (offset >= end) return 0;
    target.set(this.bytes.subarray(offset, end));
    return end - offset;
  }

  async close(): Promise<void> {}
}

/** A file opened once; each read is one positioned `read` call, so concurrent readers never share a cursor. */
export class FileByteSource implements ByteSource {
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly name: string,
  ) {}

  static async open(path: string): Promise<FileByteSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (error as Error).message;
      throw new InvalidArgumentError("path", `cannot open ${path}: ${reason}`, { cause: error });
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new InvalidArgumentError("path", `${path} is not a regular file`);
      return new FileByteSource(handle, stats.size, path);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async readInto(target: Uint8Array, offset: number, length: number): Promise<number> {
    let done = 0;
    // A positioned read may return fewer bytes than asked (large reads, pipes); loop until EOF.
    while (done < length) {
      const { bytesRead } = await this.handle.read(target, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
