import { moduleWithFunctions as moduleWithAnyFunctions, op, signedLeb, unsignedLeb, valueType } from "./wasm-bytes.js";

// The instructions and the module layout the attention kernels need beyond ./wasm-bytes.ts (kept in
// this file so the two kernel families can grow their encoders independently): loads and stores with a
// constant address offset (the kernels are generated for one shape, so every row offset is a
// constant), splats, pmax, the integer lanes of a vector exp, structured control flow, and a module
// exporting several functions.

const simd = (opcode: number) => [0xfd, ...unsignedLeb(opcode)];
/** memarg: alignment exponent, then the constant byte offset added to the address. */
const memarg = (alignExponent: number, offset: number) => [alignExponent, ...unsignedLeb(offset)];

function f32Bytes(value: number): number[] {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value, true);
  return [view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3)];
}

export const wasm = {
  localGet: op.localGet,
  localSet: op.localSet,
  i32Const: (v: number) => [0x41, ...signedLeb(v)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32And: [0x71],
  i32ShrU: [0x76],
  i32LtS: [0x48],
  i32GeS: [0x4e],
  f32Const: (v: number) => [0x43, ...f32Bytes(v)],
  f32Add: [0x92],
  f32Div: [0x95],
  f32Max: [0x97],
  f32Load: (offset: number) => [0x2a, ...memarg(2, offset)],
  f32Store: (offset: number) => [0x38, ...memarg(2, offset)],
  select: [0x1b],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...unsignedLeb(depth)],
  brIf: (depth: number) => [0x0d, ...unsignedLeb(depth)],
  v128Load: (offset: number) => [...simd(0x00), ...memarg(4, offset)],
  v128Load32Splat: (offset: number) => [...simd(0x09), ...memarg(2, offset)],
  v128Store: (offset: number) => [...simd(0x0b), ...memarg(4, offset)],
  f32x4Const: (v: number) => [...simd(0x0c), ...f32Bytes(v), ...f32Bytes(v), ...f32Bytes(v), ...f32Bytes(v)],
  i32x4Const: (v: number) => [...simd(0x0c), ...[v, v, v, v].flatMap((lane) => [lane & 0xff, (lane >>> 8) & 0xff, (lane >>> 16) & 0xff, (lane >>> 24) & 0xff])],
  /**
   * i8x16.shuffle picking lane `lane` of the first operand into all four (push the vector twice): V8
   * emits one shuffle instruction, sparing the load ports that v128.load32_splat would take.
   */
  f32x4BroadcastLane: (lane: number) => [...simd(0x0d), ...[lane, lane, lane, lane].flatMap((l) => [l * 4, l * 4 + 1, l * 4 + 2, l * 4 + 3])],
  f32x4Splat: simd(0x13),
  f32x4ExtractLane: (lane: number) => [...simd(0x1f), lane],
  i32x4Shl: simd(0xab),
  i32x4Add: simd(0xae),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  /** b if a < b else a: one instruction on x64, where f32x4.max's NaN and -0 rules cost a sequence. NaN in a is kept. */
  f32x4Pmax: simd(0xeb),
  /** a * b + c, fused where the CPU has FMA (relaxed SIMD). */
  f32x4RelaxedMadd: simd(0x105),
};

export interface WasmFunction {
  name: string;
  /** How many i32 parameters it takes (it returns nothing). */
  params: number;
  /** Local declarations as (count, type) runs. */
  locals: [count: number, type: number][];
  code: number[];
}

/**
 * A module importing `env.memory` of at least minPages (private, or shared of at most sharedMaxPages)
 * and exporting functions of type (i32 x params) -> ().
 */
export function moduleWithFunctions(functions: WasmFunction[], minPages: number, sharedMaxPages?: number): Uint8Array<ArrayBuffer> {
  const definitions = functions.map((f) => ({ ...f, params: new Array<number>(f.params).fill(valueType.i32), results: [] }));
  return moduleWithAnyFunctions(definitions, sharedMaxPages, minPages);
}

/**
 * Emits one function body: hands out locals (i32 first, then v128) and writes structured loops, so the
 * kernel generator reads as the loops it produces.
 */
export class FunctionWriter {
  readonly code: number[] = [];
  private i32Used = 0;
  private v128Used = 0;

  /** params: the function's i32 parameters, locals 0 .. params - 1. */
  constructor(private readonly i32Count: number, private readonly v128Count: number, readonly params = 0) {}

  i32(): number {
    if (this.i32Used >= this.i32Count) throw new Error(`attention kernel generator: more than ${this.i32Count} i32 locals`);
    return this.params + this.i32Used++;
  }

  v128(): number {
    if (this.v128Used >= this.v128Count) throw new Error(`attention kernel generator: more than ${this.v128Count} v128 locals`);
    return this.params + this.i32Count + this.v128Used++;
  }

  emit(...parts: number[][]): void {
    for (const part of parts) for (const byte of part) this.code.push(byte);
  }

  /** local = value (the instructions that push it). */
  set(local: number, ...value: number[][]): void {
    this.emit(...value, wasm.localSet(local));
  }

  /** for (counter = start; counter < end; counter += step) body, with a signed test before each pass. */
  forRange(counter: number, start: number[], end: number[], step: number, body: () => void): void {
    this.set(counter, start);
    this.emit(wasm.block, wasm.loop);
    this.emit(wasm.localGet(counter), end, wasm.i32GeS, wasm.brIf(1));
    body();
    this.emit(wasm.localGet(counter), wasm.i32Const(step), wasm.i32Add, wasm.localSet(counter), wasm.br(0));
    this.emit(wasm.end, wasm.end);
  }

  locals(): [number, number][] {
    return [[this.i32Count, valueType.i32], [this.v128Count, valueType.v128]];
  }
}
