// Reading one .safetensors file by offsets: the header is parsed and checked once (as the safetensors
// crate's Metadata::validate does), then each tensor is read on its own, so a caller holds at most the
// tensors it asked for, never the file.
import { z } from "zod";
import { FileByteSource, type ByteSource } from "../gguf/byte-source.js";
import { decodeFloats, isFloatDtype, isSafetensorsDtype, SAFETENSORS_DTYPE_BYTES, type SafetensorsDtype } from "./dtypes.js";
import { SafetensorsFormatError } from "./errors.js";

/** The safetensors crate refuses headers above 100 MB; so do we (a lying length must not allocate GBs). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  /** Row-major (PyTorch) order: shape[shape.length - 1] varies fastest. */
  shape: number[];
  /** Absolute byte offset of the data in its file. */
  offset: number;
  byteLength: number;
  /** The file that holds the data. */
  file: string;
}

const tensorEntrySchema = z.object({
  dtype: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});
const metadataSchema = z.record(z.string(), z.string());

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.join(".") || "header"}: ${issue.message}`;
}

/** Parses and validates the JSON header; `dataBytes` is the size of the data section that follows it. */
export function parseSafetensorsHeader(
  file: string,
  headerText: string,
  dataOffset: number,
  dataBytes: number,
): { metadata: Record<string, string>; tensors: SafetensorsTensorInfo[] } {
  if (!headerText.startsWith("{")) throw new SafetensorsFormatError(file, "the header is not a JSON object");
  let parsed: unknown;
  try {
    parsed = JSON.parse(headerText);
  } catch (error) {
    throw new SafetensorsFormatError(file, `the header is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new SafetensorsFormatError(file, "the header is not a JSON object");
  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of Object.entries(parsed)) {
    if (name === "__metadata__") {
      const result = metadataSchema.safeParse(entry);
      if (!result.success) throw new SafetensorsFormatError(file, `__metadata__ must map strings to strings (${describeIssue(result.error)})`);
      metadata = result.data;
      continue;
    }
    const result = tensorEntrySchema.safeParse(entry);
    if (!result.success) throw new SafetensorsFormatError(file, `tensor "${name}": ${describeIssue(result.error)}`);
    const { dtype, shape, data_offsets: [begin, end] } = result.data;
    if (!isSafetensorsDtype(dtype)) {
      throw new SafetensorsFormatError(file, `tensor "${name}" has unknown dtype "${dtype}" (known: ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(", ")})`);
    }
    if (end < begin) throw new SafetensorsFormatError(file, `tensor "${name}" ends (${end}) before it begins (${begin})`);
    const elements = shape.reduce((product, dim) => product * dim, 1);
    const expected = elements * SAFETENSORS_DTYPE_BYTES[dtype];
    if (!Number.isSafeInteger(expected) || expected !== end - begin) {
      throw new SafetensorsFormatError(file, `tensor "${name}" is ${dtype} [${shape.join(", ")}] = ${expected} bytes, but its data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    tensors.push({ name, dtype, shape, offset: dataOffset + begin, byteLength: end - begin, file });
  }
  // The data section must be covered exactly once, in offset order, with no gap and no overlap.
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  let next = dataOffset;
  for (const tensor of byOffset) {
    if (tensor.offset !== next) {
      throw new SafetensorsFormatError(file, `tensor "${tensor.name}" starts at data offset ${tensor.offset - dataOffset}, expected ${next - dataOffset} (the header's offsets overlap or leave a gap)`);
    }
    next += tensor.byteLength;
  }
  const covered = next - dataOffset;
  if (covered !== dataBytes) {
    throw new SafetensorsFormatError(
      file,
      covered > dataBytes
        ? `truncated: the header describes ${covered} bytes of tensor data but the file holds ${dataBytes}`
        : `${dataBytes - covered} bytes after the last tensor are not described by the header`,
    );
  }
  tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { metadata, tensors };
}

export class SafetensorsFile {
  private readonly byName: Map<string, SafetensorsTensorInfo>;

  private constructor(
    private readonly source: ByteSource,
    readonly path: string,
    readonly metadata: Record<string, string>,
    /** Sorted by name, as the safetensors library lists them. */
    readonly tensors: readonly SafetensorsTensorInfo[],
  ) {
    this.byName = new Map(tensors.map((tensor) => [tensor.name, tensor]));
  }

  /** Opens a file and validates its header; `source` lets tests supply bytes or count reads. */
  static async open(path: string, source?: ByteSource): Promise<SafetensorsFile> {
    let bytes: ByteSource;
    try {
      bytes = source ?? (await FileByteSource.open(path));
    } catch (error) {
      throw new SafetensorsFormatError(path, (error as Error).message.replace(/^cannot open [^:]*: /, "cannot open: "), { cause: error });
    }
    try {
      if (bytes.size < 8) throw new SafetensorsFormatError(path, `the file is ${bytes.size} bytes, too short for the 8-byte header length`);
      const lengthBytes = new Uint8Array(8);
      await bytes.readInto(lengthBytes, 0, 8);
      const headerLength = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true));
      if (headerLength > MAX_SAFETENSORS_HEADER_BYTES) {
        throw new SafetensorsFormatError(path, `the header length ${headerLength} exceeds the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit`);
      }
      if (8 + headerLength > bytes.size) {
        throw new SafetensorsFormatError(path, `truncated: the header claims ${headerLength} bytes but the file has ${bytes.size - 8} after the length`);
      }
      const headerBytes = new Uint8Array(headerLength);
      await bytes.readInto(headerBytes, 8, headerLength);
      let headerText: string;
      try {
        headerText = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
      } catch (error) {
        throw new SafetensorsFormatError(path, "the header is not valid UTF-8", { cause: error });
      }
      const dataOffset = 8 + headerLength;
      const { metadata, tensors } = parseSafetensorsHeader(path, headerText, dataOffset, bytes.size - dataOffset);
      return new SafetensorsFile(bytes, path, metadata, tensors);
    } catch (error) {
      if (!source) await bytes.close();
      throw error;
    }
  }

  tensor(name: string): SafetensorsTensorInfo | undefined {
    return this.byName.get(name);
  }

  private info(name: string): SafetensorsTensorInfo {
    const info = this.byName.get(name);
    if (!info) throw new SafetensorsFormatError(this.path, `no tensor named "${name}"`);
    return info;
  }

  private async readInto(info: SafetensorsTensorInfo, target: Uint8Array): Promise<void> {
    const read = await this.source.readInto(target, info.offset, info.byteLength);
    if (read !== info.byteLength) throw new SafetensorsFormatError(this.path, `truncated while reading tensor "${info.name}" (${read} of ${info.byteLength} bytes)`);
  }

  /** The tensor's raw little-endian bytes, in a buffer of its own. */
  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    const bytes = new Uint8Array(info.byteLength);
    await this.readInto(info, bytes);
    return bytes;
  }

  /** The tensor's values as float32 (F32, F16 and BF16 tensors). */
  async readFloat32(name: string): Promise<Float32Array> {
    const info = this.info(name);
    if (!isFloatDtype(info.dtype)) throw new SafetensorsFormatError(this.path, `tensor "${name}" is ${info.dtype}; only F32, F16 and BF16 convert to float32`);
    if (info.dtype === "F32") {
      // read straight into the result: one tensor-sized buffer, not two
      const values = new Float32Array(info.byteLength / 4);
      await this.readInto(info, new Uint8Array(values.buffer));
      return values;
    }
    return decodeFloats(info.dtype, await this.readBytes(name));
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}
