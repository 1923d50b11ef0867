// Writing .safetensors files (tests build Hugging Face folders with it; adapters are exported with it).
// Layout as the safetensors crate writes it: u64 header length, a JSON header padded with spaces to a
// multiple of 8, then the tensors back to back, ordered by dtype (widest first) and name.
import { Buffer } from "node:buffer";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError } from "../errors/index.js";
import { writeFileStreaming } from "../files/atomic-write.js";
import { encodeFloats, isFloatDtype, SAFETENSORS_DTYPE_BYTES, type SafetensorsDtype } from "./dtypes.js";
import { SAFETENSORS_INDEX_FILE } from "./checkpoint.js";

export type SafetensorsData = Float32Array | Uint8Array;

export interface SafetensorsTensorInput {
  name: string;
  dtype: SafetensorsDtype;
  /** Row-major (PyTorch) order. */
  shape: readonly number[];
  /**
   * float32 values (encoded to `dtype`, which must be F32, F16 or BF16) or the raw little-endian bytes.
   * A function defers producing the data until the tensor is written.
   */
  data: SafetensorsData | (() => SafetensorsData | Promise<SafetensorsData>);
}

const DTYPE_RANK = Object.keys(SAFETENSORS_DTYPE_BYTES);

function byteLengthOf(tensor: SafetensorsTensorInput): number {
  for (const dim of tensor.shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) throw new InvalidArgumentError(`tensors.${tensor.name}`, `dimension ${dim} is not a non-negative integer`);
  }
  if (!Object.hasOwn(SAFETENSORS_DTYPE_BYTES, tensor.dtype)) throw new InvalidArgumentError(`tensors.${tensor.name}`, `unknown dtype "${tensor.dtype}"`);
  return tensor.shape.reduce((product, dim) => product * dim, 1) * SAFETENSORS_DTYPE_BYTES[tensor.dtype];
}

/** The tensors in the order they are stored and the header bytes (length prefix included). */
export function planSafetensors(tensors: readonly SafetensorsTensorInput[], metadata?: Record<string, string>): { ordered: SafetensorsTensorInput[]; header: Uint8Array; totalBytes: number } {
  const names = new Set<string>();
  for (const tensor of tensors) {
    if (tensor.name === "__metadata__" || names.has(tensor.name)) throw new InvalidArgumentError(`tensors.${tensor.name}`, `tensor name "${tensor.name}" is reserved or repeated`);
    names.add(tensor.name);
  }
  const ordered = [...tensors].sort(
    (a, b) => DTYPE_RANK.indexOf(b.dtype) - DTYPE_RANK.indexOf(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const tensor of ordered) {
    const length = byteLengthOf(tensor);
    header[tensor.name] = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [offset, offset + length] };
    offset += length;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  return { ordered, header: bytes, totalBytes: bytes.byteLength + offset };
}

async function tensorBytes(tensor: SafetensorsTensorInput): Promise<Uint8Array> {
  const data = typeof tensor.data === "function" ? await tensor.data() : tensor.data;
  const expected = byteLengthOf(tensor);
  let bytes: Uint8Array;
  if (data instanceof Float32Array) {
    if (!isFloatDtype(tensor.dtype)) throw new InvalidArgumentError(`tensors.${tensor.name}`, `float32 values cannot be written as ${tensor.dtype}`);
    bytes = encodeFloats(tensor.dtype, data);
  } else if (data instanceof Uint8Array) {
    bytes = data;
  } else {
    throw new InvalidArgumentError(`tensors.${tensor.name}`, "tensor data must be a Float32Array or a Uint8Array");
  }
  if (bytes.byteLength !== expected) {
    throw new InvalidArgumentError(`tensors.${tensor.name}`, `${tensor.dtype} [${tensor.shape.join(", ")}] takes ${expected} bytes, got ${bytes.byteLength}`);
  }
  return bytes;
}

/** Writes one .safetensors file, one tensor at a time; a failed write leaves no file behind. */
export async function writeSafetensors(path: string, tensors: readonly SafetensorsTensorInput[], metadata?: Record<string, string>): Promise<{ bytes: number }> {
  const plan = planSafetensors(tensors, metadata);
  await writeFileStreaming(path, async (handle) => {
    await handle.write(plan.header);
    for (const tensor of plan.ordered) await handle.write(await tensorBytes(tensor));
  });
  return { bytes: plan.totalBytes };
}

/**
 * Writes `tensors` as Hugging Face shards (model-00001-of-0000N.safetensors, in the given order, a new
 * shard when the next tensor would pass `maxShardBytes`) and model.safetensors.index.json.
 */
export async function writeShardedSafetensors(
  folder: string,
  tensors: readonly SafetensorsTensorInput[],
  options: { maxShardBytes: number; metadata?: Record<string, string> },
): Promise<{ files: string[]; indexPath: string }> {
  const shards: SafetensorsTensorInput[][] = [];
  let current: SafetensorsTensorInput[] = [];
  let currentBytes = 0;
  let totalSize = 0;
  for (const tensor of tensors) {
    const length = byteLengthOf(tensor);
    if (current.length > 0 && currentBytes + length > options.maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(tensor);
    currentBytes += length;
    totalSize += length;
  }
  if (current.length > 0) shards.push(current);
  const width = 5;
  const count = String(shards.length).padStart(width, "0");
  const files = shards.map((_, i) => `model-${String(i + 1).padStart(width, "0")}-of-${count}.safetensors`);
  const weightMap: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    await writeSafetensors(join(folder, files[i]), shard, options.metadata);
    for (const tensor of shard) weightMap[tensor.name] = files[i];
  }
  const sortedMap = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const indexPath = join(folder, SAFETENSORS_INDEX_FILE);
  await writeFile(indexPath, JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sortedMap }, null, 2) + "\n");
  return { files, indexPath };
}
