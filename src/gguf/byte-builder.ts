// A growable little-endian byte buffer for serializing GGUF headers.
import { Buffer } from "node:buffer";

export class ByteBuilder {
  private bytes: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initialCapacity = 64 * 1024) {
    this.bytes = new Uint8Array(initialCapacity);
    this.view = new DataView(this.bytes.buffer);
  }

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.bytes.byteLength) {
      const grown = new Uint8Array(Math.max(at + n, this.bytes.byteLength * 2));
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += n;
    return at;
  }

  u8(value: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, value);
  }
  i8(value: number): void {
    const at = this.reserve(1);
    this.view.setInt8(at, value);
  }
  u16(value: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, value, true);
  }
  i16(value: number): void {
    const at = this.reserve(2);
    this.view.setInt16(at, value, true);
  }
  u32(value: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, value, true);
  }
  i32(value: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, value, true);
  }
  f32(value: number): void {
    const at = this.reserve(4);
    this.view.setFloat32(at, value, true);
  }
  f64(value: number): void {
    const at = this.reserve(8);
    this.view.setFloat64(at, value, true);
  }
  u64(value: bigint | number): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(value), true);
  }
  i64(value: bigint): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, value, true);
  }
  raw(bytes: Uint8Array): void {
    const at = this.reserve(bytes.byteLength); // before touching this.bytes: reserve may replace it
    this.bytes.set(bytes, at);
  }
  /** A GGUF string: u64 byte length, then UTF-8 bytes. */
  string(text: string): void {
    const encoded = Buffer.from(text, "utf8");
    this.u64(encoded.byteLength);
    this.raw(encoded);
  }
  zeros(n: number): void {
    const at = this.reserve(n);
    this.bytes.fill(0, at, this.length);
  }

  toBytes(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}
