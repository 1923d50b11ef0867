import { readFileSync } from "node:fs";
import { z } from "zod";

/** The tensor index a golden script writes beside its float32 file (name, shape, offset and length in floats). */
export const goldenTensorIndex = z.array(z.object({ name: z.string(), shape: z.array(z.number()), offset: z.number(), length: z.number() }));

/**
 * A PyTorch golden as scripts/golden/*.py write it: `<base>.json` (settings, small arrays and the
 * tensor index, parsed with `schema`) and `<base>.f32` (every tensor, float32, back to back).
 */
export function readGoldenFiles<Meta extends { tensors: z.infer<typeof goldenTensorIndex> }>(base: string, schema: z.ZodType<Meta>) {
  const meta = schema.parse(JSON.parse(readFileSync(`${base}.json`, "utf8")));
  const bytes = readFileSync(`${base}.f32`);
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const tensors = new Map(meta.tensors.map((t) => [t.name, floats.subarray(t.offset, t.offset + t.length)]));
  return { meta, tensor: (name: string) => tensors.get(name) };
}
