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
