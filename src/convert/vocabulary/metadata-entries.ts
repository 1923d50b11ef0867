// GGUF metadata collected the way gguf-py's GGUFWriter collects it: a key written twice keeps its
// first position and takes the new value; empty strings and empty arrays are not written at all.
import type { GgufValue } from "../../gguf/index.js";

export class MetadataEntries {
  private readonly values = new Map<string, GgufValue>();
  readonly warnings: string[] = [];

  set(key: string, value: GgufValue): void {
    this.values.set(key, value);
  }

  string(key: string, value: string): void {
    if (value !== "") this.set(key, { type: "string", value });
  }

  uint32(key: string, value: number): void {
    this.set(key, { type: "uint32", value });
  }

  bool(key: string, value: boolean): void {
    this.set(key, { type: "bool", value });
  }

  strings(key: string, values: string[]): void {
    if (values.length > 0) this.set(key, { type: "array", value: { elementType: "string", values } });
  }

  int32s(key: string, values: ArrayLike<number>): void {
    if (values.length > 0) this.set(key, { type: "array", value: { elementType: "int32", values: Int32Array.from(values) } });
  }

  float32s(key: string, values: ArrayLike<number>): void {
    if (values.length > 0) this.set(key, { type: "array", value: { elementType: "float32", values: Float32Array.from(values) } });
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  entries(): [string, GgufValue][] {
    return [...this.values];
  }
}
