// Fixtures written by our own writer: every metadata value type and every writable tensor type.
import { seededRandom } from "../../src/random/seeded-random.js";
import type { GgufValue } from "../../src/gguf/types.js";
import type { GgufTensorInput, GgufWriteInput } from "../../src/gguf/writer.js";

export function everyValueTypeMetadata(): [string, GgufValue][] {
  return [
    ["general.architecture", { type: "string", value: "llama" }],
    ["test.uint8", { type: "uint8", value: 255 }],
    ["test.int8", { type: "int8", value: -128 }],
    ["test.uint16", { type: "uint16", value: 65535 }],
    ["test.int16", { type: "int16", value: -32768 }],
    ["test.uint32", { type: "uint32", value: 4294967295 }],
    ["test.int32", { type: "int32", value: -2147483648 }],
    ["test.float32", { type: "float32", value: Math.fround(0.1) }],
    ["test.float64", { type: "float64", value: 0.1 }],
    ["test.uint64", { type: "uint64", value: 18446744073709551615n }],
    ["test.int64", { type: "int64", value: -9223372036854775808n }],
    ["test.bool.true", { type: "bool", value: true }],
    ["test.bool.false", { type: "bool", value: false }],
    ["test.string.empty", { type: "string", value: "" }],
    ["test.string.unicode", { type: "string", value: "llama 🦙 라마 ламa\n\t\"quoted\"" }],
    ["test.array.uint8", { type: "array", value: { elementType: "uint8", values: Uint8Array.from([0, 1, 255]) } }],
    ["test.array.int8", { type: "array", value: { elementType: "int8", values: Int8Array.from([-128, 0, 127]) } }],
    ["test.array.uint16", { type: "array", value: { elementType: "uint16", values: Uint16Array.from([0, 65535]) } }],
    ["test.array.int16", { type: "array", value: { elementType: "int16", values: Int16Array.from([-32768, 32767]) } }],
    ["test.array.uint32", { type: "array", value: { elementType: "uint32", values: Uint32Array.from([0, 4294967295]) } }],
    ["test.array.int32", { type: "array", value: { elementType: "int32", values: Int32Array.from([-1, 7]) } }],
    ["test.array.float32", { type: "array", value: { elementType: "float32", values: Float32Array.from([1.5, -0, Infinity, NaN]) } }],
    ["test.array.float64", { type: "array", value: { elementType: "float64", values: Float64Array.from([Math.PI, -1e300]) } }],
    ["test.array.uint64", { type: "array", value: { elementType: "uint64", values: BigUint64Array.from([0n, 2n ** 64n - 1n]) } }],
    ["test.array.int64", { type: "array", value: { elementType: "int64", values: BigInt64Array.from([-(2n ** 63n), 42n]) } }],
    ["test.array.bool", { type: "array", value: { elementType: "bool", values: [true, false, true] } }],
    ["test.array.string", { type: "array", value: { elementType: "string", values: ["a", "", "ñ", "<0x0A>"] } }],
    ["test.array.empty", { type: "array", value: { elementType: "int32", values: new Int32Array(0) } }],
    [
      "test.array.nested",
      {
        type: "array",
        value: {
          elementType: "array",
          values: [
            { elementType: "string", values: ["x", "y"] },
            { elementType: "array", values: [{ elementType: "uint8", values: Uint8Array.from([9]) }] },
            { elementType: "float32", values: new Float32Array(0) },
          ],
        },
      },
    ],
  ];
}

export function randomFloats(count: number, seed: number, scale = 1): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count }, () => (random() * 2 - 1) * scale);
}

/** One tensor per writable type plus raw BF16 bytes, with shapes of 1 to 4 dimensions. */
export function everyTensorType(): GgufTensorInput[] {
  const bf16 = new Uint8Array(2 * 8);
  new DataView(bf16.buffer).setUint16(0, 0x3f80, true); // 1.0
  return [
    { name: "f32.vector", dims: [7], type: "F32", data: randomFloats(7, 1) },
    { name: "f16.matrix", dims: [8, 3], type: "F16", data: randomFloats(24, 2) },
    { name: "q8_0.matrix", dims: [64, 2], type: "Q8_0", data: randomFloats(128, 3, 3) },
    { name: "q4_0.cube", dims: [32, 2, 2], type: "Q4_0", data: randomFloats(128, 4, 0.5) },
    { name: "bf16.raw", dims: [2, 2, 1, 2], type: "BF16", data: bf16 },
  ];
}

export function everyTypeFile(alignment?: number): GgufWriteInput {
  const metadata = everyValueTypeMetadata();
  if (alignment !== undefined) metadata.push(["general.alignment", { type: "uint32", value: alignment }]);
  return { metadata, tensors: everyTensorType() };
}
