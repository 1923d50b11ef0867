import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { writeFileAtomic } from "../files/atomic-write.js";
import { CheckpointError } from "./errors.js";

// A checkpoint is everything the next step depends on: LoRA parameters, AdamW moments and step, the
// model's dropout generator and the step counter. The data position is a function of the step (see
// RowSchedule), so with these a resumed run computes bit-for-bit what the uninterrupted one would.
// Layout: "CMLCKPT1", u32 header length, JSON header, zero padding to 4 bytes, then params, m, v as f32.

const MAGIC = "CMLCKPT1";

export interface CheckpointState {
  /** Optimizer updates done. */
  step: number;
  adamStep: number;
  randomState: number;
  /** Identifies the run configuration; resuming with a different one is refused. */
  fingerprint: string;
  tokensSeen: number;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

const headerSchema = z.object({
  step: z.number().int().min(0),
  adamStep: z.number().int().min(0),
  randomState: z.number().int().min(0),
  fingerprint: z.string(),
  tokensSeen: z.number().min(0),
  parameterCount: z.number().int().positive(),
});

export function saveCheckpoint(path: string, state: CheckpointState): void {
  const { params, m, v, ...rest } = state;
  const header = new TextEncoder().encode(JSON.stringify({ ...rest, parameterCount: params.length }));
  const prefixLength = MAGIC.length + 4 + header.length;
  const padded = Math.ceil(prefixLength / 4) * 4;
  const prefix = new Uint8Array(padded);
  prefix.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(prefix.buffer).setUint32(MAGIC.length, header.length, true);
  prefix.set(header, MAGIC.length + 4);
  const bytes = (array: Float32Array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  writeFileAtomic(path, [prefix, bytes(params), bytes(m), bytes(v)]);
}

export function loadCheckpoint(path: string): CheckpointState {
  if (!existsSync(path)) throw new CheckpointError(path, `no checkpoint at ${path} to resume from`);
  const file = readFileSync(path);
  const fail = (why: string): never => {
    throw new CheckpointError(path, `${path} is not a usable camelid checkpoint: ${why}`);
  };
  if (file.length < MAGIC.length + 4 || file.subarray(0, MAGIC.length).toString("latin1") !== MAGIC) fail("wrong magic bytes");
  const headerLength = file.readUInt32LE(MAGIC.length);
  if (MAGIC.length + 4 + headerLength > file.length) fail("the header runs past the end of the file");
  let header: z.infer<typeof headerSchema>;
  try {
    header = headerSchema.parse(JSON.parse(file.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength).toString("utf8")));
  } catch (error) {
    return fail(`bad header (${(error as Error).message.split("\n")[0]})`);
  }
  const start = Math.ceil((MAGIC.length + 4 + headerLength) / 4) * 4;
  const count = header.parameterCount;
  if (file.length !== start + 3 * count * 4) fail(`expected ${start + 3 * count * 4} bytes for ${count} parameters, found ${file.length}`);
  const floats = new Float32Array(file.buffer.slice(file.byteOffset + start, file.byteOffset + start + 3 * count * 4));
  const { parameterCount: _, ...rest } = header;
  return { ...rest, params: floats.slice(0, count), m: floats.slice(count, 2 * count), v: floats.slice(2 * count) };
}
