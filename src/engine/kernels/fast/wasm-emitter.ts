// The one WebAssembly emitter every fast kernel is written with (the matmul, the attention, the
// element-wise kernels): just enough of the binary format to emit SIMD kernels at startup, with no
// compiler, no binary blobs in the repository, nothing to build on the user's machine. One table of
// instruction encoders, one function builder (it counts local indices, so a generator asks for a local
// of a type), one module layout.

export const valueType = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;

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
const simd = (opcode: number) => [0xfd, ...unsignedLeb(opcode)];
/** memarg: alignment exponent, then the constant byte offset added to the address. */
const memarg = (alignExponent: number, offset: number) => [alignExponent, ...unsignedLeb(offset)];
const f32Bytes = (value: number) => Array.from(new Uint8Array(Float32Array.of(value).buffer));
const f64Bytes = (value: number) => Array.from(new Uint8Array(Float64Array.of(value).buffer));
const i32Bytes = (value: number) => Array.from(new Uint8Array(Int32Array.of(value).buffer));

/**
 * Instruction encoders (opcodes from the core, SIMD and relaxed SIMD specs). Loads and stores take the
 * constant byte offset added to their address (kernels generated for one shape make most offsets constants).
 */
export const op = {
  // control
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...unsignedLeb(depth)],
  brIf: (depth: number) => [0x0d, ...unsignedLeb(depth)],
  select: [0x1b],
  // locals
  localGet: (i: number) => [0x20, ...unsignedLeb(i)],
  localSet: (i: number) => [0x21, ...unsignedLeb(i)],
  localTee: (i: number) => [0x22, ...unsignedLeb(i)],
  // memory
  f32Load: (offset: number) => [0x2a, ...memarg(2, offset)],
  f32Store: (offset: number) => [0x38, ...memarg(2, offset)],
  f64Store: (offset: number) => [0x39, ...memarg(3, offset)],
  v128Load: (offset: number) => [...simd(0x00), ...memarg(4, offset)],
  v128Load32Splat: (offset: number) => [...simd(0x09), ...memarg(2, offset)],
  /** v128.load64_zero: two floats into the low lanes, alignment hint 8. */
  v128Load64Zero: (offset: number) => [...simd(0x5d), ...memarg(3, offset)],
  v128Store: (offset: number) => [...simd(0x0b), ...memarg(4, offset)],
  // scalars
  i32Const: (v: number) => [0x41, ...signedLeb(v)],
  f32Const: (value: number) => [0x43, ...f32Bytes(value)],
  f64Const: (value: number) => [0x44, ...f64Bytes(value)],
  i32Eqz: [0x45],
  i32LtS: [0x48],
  i32LtU: [0x49],
  i32GeS: [0x4e],
  i32GeU: [0x4f],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32And: [0x71],
  i32ShrU: [0x76],
  f32Add: [0x92],
  f32Div: [0x95],
  f32Max: [0x97],
  f64Sqrt: [0x9f],
  f64Add: [0xa0],
  f64Mul: [0xa2],
  f64Div: [0xa3],
  f32DemoteF64: [0xb6],
  f64PromoteF32: [0xbb],
  // vectors
  v128Const: (bytes: number[]) => [...simd(0x0c), ...bytes],
  v128Zero: [...simd(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Const: (value: number) => [...simd(0x0c), ...f32Bytes(value), ...f32Bytes(value), ...f32Bytes(value), ...f32Bytes(value)],
  i32x4Const: (value: number) => [...simd(0x0c), ...i32Bytes(value), ...i32Bytes(value), ...i32Bytes(value), ...i32Bytes(value)],
  i8x16Shuffle: (lanes: number[]) => [...simd(0x0d), ...lanes],
  /**
   * i8x16.shuffle picking lane `lane` of the first operand into all four (push the vector twice): V8
   * emits one shuffle instruction, sparing the load ports that v128.load32_splat would take.
   */
  f32x4BroadcastLane: (lane: number) => [...simd(0x0d), ...[lane, lane, lane, lane].flatMap((l) => [l * 4, l * 4 + 1, l * 4 + 2, l * 4 + 3])],
  f32x4Splat: simd(0x13),
  f32x4ExtractLane: (lane: number) => [...simd(0x1f), lane],
  f64x2ExtractLane: (lane: number) => [...simd(0x21), lane],
  f32x4Lt: simd(0x43),
  v128Andnot: simd(0x4f),
  f64x2PromoteLowF32x4: simd(0x5f),
  i32x4Shl: simd(0xab),
  i32x4Add: simd(0xae),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  /** b < a ? b : a (one minps; a NaN in a stays) */
  f32x4Pmin: simd(0xea),
  /** a < b ? b : a (one maxps on x64, where f32x4.max's NaN and -0 rules cost a sequence; a NaN in a stays) */
  f32x4Pmax: simd(0xeb),
  f64x2Add: simd(0xf0),
  /** a * b + c, fused where the CPU has FMA (relaxed SIMD). */
  f32x4RelaxedMadd: simd(0x105),
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
 * A module importing `env.memory` and exporting functions with any value types. With sharedMaxPages
 * the memory is a shared one (threads), which needs a maximum size; minPages is the least size the
 * imported memory must have.
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

/** `count` i32 parameters, the signature most kernels have (addresses and counts). */
export const i32Params = (count: number) => new Array<number>(count).fill(valueType.i32);

/**
 * Writes one function body and keeps the count of its locals: a generator asks for a local of a type
 * (local), or takes one from pools declared up front (i32, v128: locals declared whether used or not),
 * and writes structured loops (forRange), so it reads as the loops it produces.
 */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: number[] = [];
  private readonly pools: { i32: number[]; v128: number[] } = { i32: [], v128: [] };

  constructor(
    readonly name: string,
    readonly params: number[],
    readonly results: number[] = [],
    pools?: { i32: number; v128: number },
  ) {
    if (!pools) return;
    for (let i = 0; i < pools.i32; i++) this.pools.i32.push(this.local(valueType.i32));
    for (let i = 0; i < pools.v128; i++) this.pools.v128.push(this.local(valueType.v128));
  }

  /** A new local of the given value type; its index follows the parameters and earlier locals. */
  local(type: number): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  /** The next unused i32 local of the pool. */
  i32(): number {
    const local = this.pools.i32.shift();
    if (local === undefined) throw new Error(`${this.name}: kernel generator ran out of i32 locals`);
    return local;
  }

  /** The next unused v128 local of the pool. */
  v128(): number {
    const local = this.pools.v128.shift();
    if (local === undefined) throw new Error(`${this.name}: kernel generator ran out of v128 locals`);
    return local;
  }

  emit(...parts: number[][]): void {
    for (const part of parts) for (const byte of part) this.code.push(byte);
  }

  get(index: number): number[] {
    return op.localGet(index);
  }

  set(index: number): number[] {
    return op.localSet(index);
  }

  /** local = value (the instructions that push it). */
  assign(local: number, ...value: number[][]): void {
    this.emit(...value, op.localSet(local));
  }

  /** for (counter = start; counter < end; counter += step) body, with a signed test before each pass. */
  forRange(counter: number, start: number[], end: number[], step: number, body: () => void): void {
    this.assign(counter, start);
    this.emit(op.block, op.loop);
    this.emit(op.localGet(counter), end, op.i32GeS, op.brIf(1));
    body();
    this.emit(op.localGet(counter), op.i32Const(step), op.i32Add, op.localSet(counter), op.br(0));
    this.emit(op.end, op.end);
  }

  definition(): FunctionDefinition {
    // consecutive locals of one type share a declaration
    const locals: [number, number][] = [];
    for (const type of this.localTypes) {
      const last = locals[locals.length - 1];
      if (last && last[1] === type) last[0]++;
      else locals.push([1, type]);
    }
    return { name: this.name, params: this.params, results: this.results, locals, code: this.code };
  }
}
