// Opening GGUF files: the header is parsed once; tensor data is read on demand, by name.
import { GgufFormatError, InvalidArgumentError } from "../errors/index.js";
import { FileByteSource, MemoryByteSource, type ByteSource } from "./byte-source.js";
import { DEFAULT_GGUF_LIMITS, parseGgufHeader, type GgufLimits } from "./header-parser.js";
import { dequantize } from "./quantization.js";
import type { GgufHeader, GgufMetadata, GgufTensorInfo } from "./types.js";

export interface GgufReadOptions {
  limits?: Partial<GgufLimits>;
}

function isLittleEndianHost(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

export class GgufReader {
  private readonly tensorsByName: Map<string, GgufTensorInfo>;

  private constructor(
    private readonly source: ByteSource,
    readonly header: GgufHeader,
  ) {
    this.tensorsByName = new Map(header.tensors.map((tensor) => [tensor.name, tensor]));
  }

  /** Parses the header of `source`; the source is closed if parsing fails. */
  static async fromSource(source: ByteSource, options: GgufReadOptions = {}): Promise<GgufReader> {
    // Typed-array views assume little-endian memory; every mainstream Node platform is.
    if (!isLittleEndianHost()) throw new GgufFormatError(0, "big-endian hosts are not supported", source.name);
    try {
      const header = await parseGgufHeader(source, { ...DEFAULT_GGUF_LIMITS, ...options.limits });
      return new GgufReader(source, header);
    } catch (error) {
      await source.close();
      throw error;
    }
  }

  static async open(path: string, options: GgufReadOptions = {}): Promise<GgufReader> {
    return GgufReader.fromSource(await FileByteSource.open(path), options);
  }

  static async fromBytes(bytes: Uint8Array, options: GgufReadOptions & { name?: string } = {}): Promise<GgufReader> {
    return GgufReader.fromSource(new MemoryByteSource(bytes, options.name), options);
  }

  get metadata(): GgufMetadata {
    return this.header.metadata;
  }

  get tensors(): readonly GgufTensorInfo[] {
    return this.header.tensors;
  }

  tensorInfo(name: string): GgufTensorInfo {
    const tensor = this.tensorsByName.get(name);
    if (!tensor) throw new InvalidArgumentError("name", `no tensor named "${name}" in ${this.source.name ?? "this GGUF file"}`);
    return tensor;
  }

  hasTensor(name: string): boolean {
    return this.tensorsByName.has(name);
  }

  /** The tensor's stored bytes, exactly as in the file (quantized blocks stay quantized). */
  async tensorBytes(name: string): Promise<Uint8Array> {
    const tensor = this.tensorInfo(name);
    const bytes = new Uint8Array(tensor.byteLength);
    const got = await this.source.readInto(bytes, tensor.fileOffset, tensor.byteLength);
    if (got !== tensor.byteLength) {
      throw new GgufFormatError(tensor.fileOffset + got, `tensor "${name}" data is cut short`, this.source.name);
    }
    return bytes;
  }

  /** The tensor dequantized to float32 (F32, F16, BF16, Q8_0, Q4_0). */
  async tensorFloats(name: string): Promise<Float32Array> {
    const tensor = this.tensorInfo(name);
    return dequantize(tensor.type, await this.tensorBytes(name), tensor.elementCount);
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}

/** Reads only the header (metadata and tensor infos) of a GGUF file; tensor data is never touched. */
export async function readGgufHeader(path: string, options: GgufReadOptions = {}): Promise<GgufHeader> {
  const reader = await GgufReader.open(path, options);
  await reader.close();
  return reader.header;
}

/** Header of in-memory GGUF bytes. */
export async function parseGgufBytes(bytes: Uint8Array, options: GgufReadOptions & { name?: string } = {}): Promise<GgufHeader> {
  const reader = await GgufReader.fromBytes(bytes, options);
  await reader.close();
  return reader.header;
}
