// Just enough of the WebAssembly binary format to emit one SIMD kernel at startup: no compiler, no
// binary blobs in the repository, nothing to build on the user's machine.

export const valueType = { i32: 0x7f, v128: 0x7b } as const;

export function unsignedLeb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

export function signedLeb(value: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}

const name = (text: string) => [...unsignedLeb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]) => [id, ...unsignedLeb(body.length), ...body];
const vector = (items: number[][]) => [...unsignedLeb(items.length), ...items.flat()];

/** Instruction encoders used by the kernels (opcodes from the core and SIMD specs). */
export const op = {
  localGet: (i: number) => [0x20, ...unsignedLeb(i)],
  localSet: (i: number) => [0x21, ...unsignedLeb(i)],
  i32Const: (v: number) => [0x41, ...signedLeb(v)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32LtU: [0x49],
  f32Const0: [0x43, 0, 0, 0, 0],
  f32Add: [0x92],
  f32Load: (offset: number) => [0x2a, 2, ...unsignedLeb(offset)],
  f32Store: (offset: number) => [0x38, 2, ...unsignedLeb(offset)],
  select: [0x1b],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, ...unsignedLeb(depth)],
  v128Load: [0xfd, 0x00, 4, 0],
  v128Store: [0xfd, 0x0b, 4, 0],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  f32x4ExtractLane: (lane: number) => [0xfd, 0x1f, lane],
  f32x4Add: [0xfd, 0xe4, 0x01],
  f32x4Mul: [0xfd, 0xe6, 0x01],
  /** a * b + c, fused where the CPU has FMA (relaxed SIMD). */
  f32x4RelaxedMadd: [0xfd, 0x85, 0x02],
};

/**
 * A module importing `env.memory` and exporting one function `name` with i32 params and no results.
 * With sharedMaxPages the memory is a shared one (threads), which needs a maximum size.
 */
export function moduleWithOneFunction(exportName: string, paramCount: number, locals: [count: number, type: number][], code: number[], sharedMaxPages?: number): Uint8Array<ArrayBuffer> {
  const type = [0x60, ...unsignedLeb(paramCount), ...new Array<number>(paramCount).fill(valueType.i32), 0];
  const limits = sharedMaxPages === undefined ? [0x00, 0x01] : [0x03, 0x01, ...unsignedLeb(sharedMaxPages)];
  const memoryImport = [...name("env"), ...name("memory"), 0x02, ...limits];
  const body = [...vector(locals.map(([count, t]) => [...unsignedLeb(count), t])), ...code, ...op.end];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([type])),
    ...section(2, vector([memoryImport])),
    ...section(3, vector([[0]])),
    ...section(7, vector([[...name(exportName), 0x00, 0x00]])),
    ...section(10, vector([[...unsignedLeb(body.length), ...body]])),
  ]);
}

/** Value types beyond i32 and v128, for kernels with float parameters or results. */
export const floatType = { f32: 0x7d, f64: 0x7c } as const;

const simd = (opcode: number) => [0xfd, ...unsignedLeb(opcode)];
const f32Bytes = (value: number) => Array.from(new Uint8Array(Float32Array.of(value).buffer));
const f64Bytes = (value: number) => Array.from(new Uint8Array(Float64Array.of(value).buffer));

/** More instruction encoders (core and SIMD specs; relaxed SIMD for nmadd), used by the element-wise kernels. */
export const moreOp = {
  localTee: (i: number) => [0x22, ...unsignedLeb(i)],
  block: [0x02, 0x40],
  br: (depth: number) => [0x0c, ...unsignedLeb(depth)],
  i32Sub: [0x6b],
  i32Eqz: [0x45],
  i32GeU: [0x4f],
  f32Const: (value: number) => [0x43, ...f32Bytes(value)],
  f64Const: (value: number) => [0x44, ...f64Bytes(value)],
  f32Max: [0x97],
  f64Add: [0xa0],
  f64Div: [0xa3],
  f32DemoteF64: [0xb6],
  f64PromoteF32: [0xbb],
  f64Store: (offset: number) => [0x39, 3, ...unsignedLeb(offset)],
  /** v128.load / v128.store with a constant byte offset (alignment hint 16). */
  v128LoadAt: (offset: number) => [0xfd, 0x00, 4, ...unsignedLeb(offset)],
  v128StoreAt: (offset: number) => [0xfd, 0x0b, 4, ...unsignedLeb(offset)],
  v128Const: (bytes: number[]) => [0xfd, 0x0c, ...bytes],
  f32x4Const: (value: number) => [0xfd, 0x0c, ...f32Bytes(value), ...f32Bytes(value), ...f32Bytes(value), ...f32Bytes(value)],
  i32x4Const: (value: number) => [0xfd, 0x0c, ...new Array<number[]>(4).fill(Array.from(new Uint8Array(Int32Array.of(value).buffer))).flat()],
  i8x16Shuffle: (lanes: number[]) => [0xfd, 0x0d, ...lanes],
  f32x4Splat: simd(0x13),
  f64x2ExtractLane: (lane: number) => [0xfd, 0x21, lane],
  f32x4Lt: simd(0x43),
  v128Andnot: simd(0x4f),
  f64x2PromoteLowF32x4: simd(0x5f),
  i32x4Shl: simd(0xab),
  i32x4Add: simd(0xae),
  f32x4Sub: simd(0xe5),
  f32x4Div: simd(0xe7),
  /** b < a ? b : a (one minps; a NaN in a stays) */
  f32x4Pmin: simd(0xea),
  /** a < b ? b : a (one maxps; a NaN in a stays) */
  f32x4Pmax: simd(0xeb),
  f64x2Add: simd(0xf0),
  /** c - a * b, fused where the CPU has FMA (relaxed SIMD). */
  f32x4RelaxedNmadd: simd(0x106),
};

export interface FunctionDefinition {
  name: string;
  params: number[];
  results: number[];
  /** Local declarations after the parameters, in index order. */
  locals: [count: number, type: number][];
  code: number[];
}

/**
 * A module importing `env.memory` and exporting several functions with any value types. With
 * sharedMaxPages the memory is a shared one (threads), which needs a maximum size; minPages is the
 * least size the imported memory must have.
 */
export function moduleWithFunctions(functions: FunctionDefinition[], sharedMaxPages?: number, minPages = 1): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...unsignedLeb(f.params.length), ...f.params, ...unsignedLeb(f.results.length), ...f.results]);
  const limits = sharedMaxPages === undefined ? [0x00, ...unsignedLeb(minPages)] : [0x03, ...unsignedLeb(minPages), ...unsignedLeb(sharedMaxPages)];
  const memoryImport = [...name("env"), ...name("memory"), 0x02, ...limits];
  const bodies = functions.map((f) => {
    const body = [...vector(f.locals.map(([count, t]) => [...unsignedLeb(count), t])), ...f.code, ...op.end];
    return [...unsignedLeb(body.length), ...body];
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, vector([memoryImport])),
    ...section(3, vector(functions.map((_, i) => unsignedLeb(i)))),
    ...section(7, vector(functions.map((f, i) => [...name(f.name), 0x00, ...unsignedLeb(i)]))),
    ...section(10, vector(bodies)),
  ]);
}
