import { op, type FunctionDefinition } from "./wasm-bytes.js";

// Writing a WebAssembly function by hand means counting local indices; this keeps the count, so a
// kernel generator asks for a named local of a type and emits instructions that use it.

export class WasmFunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: number[] = [];

  constructor(
    readonly name: string,
    readonly params: number[],
    readonly results: number[] = [],
  ) {}

  /** A new local of the given value type; its index follows the parameters and earlier locals. */
  local(type: number): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
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
