import { metadataNumber, metadataString, readGgufHeader, type GgufMetadata } from "../../gguf/index.js";
import { AdapterFormatError, UnsupportedAdapterError } from "./errors.js";

/** What an adapter conversion needs to know of its base model: architecture, heads, tensor shapes. */
export interface AdapterBaseModel {
  path: string;
  metadata: GgufMetadata;
  architecture: string;
  heads: number;
  kvHeads: number;
  /** ggml dims ([in, out] for a matrix) by tensor name. */
  tensorDims: Map<string, readonly number[]>;
}

/** Reads a base model GGUF's header; only LLaMA-architecture bases (llama.cpp's `llama`) are accepted. */
export async function readAdapterBaseModel(path: string): Promise<AdapterBaseModel> {
  let header;
  try {
    header = await readGgufHeader(path);
  } catch (error) {
    throw new AdapterFormatError(path, `--base ${path}: ${(error as Error).message}`, { cause: error });
  }
  const { metadata, tensors } = header;
  const architecture = metadataString(metadata, "general.architecture") ?? "(none)";
  if (architecture !== "llama") {
    throw new UnsupportedAdapterError("general.architecture", `--base ${path}: architecture "${architecture}" is not LLaMA; only LlamaForCausalLM adapters convert`);
  }
  const heads = metadataNumber(metadata, "llama.attention.head_count");
  if (!heads) throw new AdapterFormatError(path, `--base ${path}: llama.attention.head_count is missing`);
  const kvHeads = metadataNumber(metadata, "llama.attention.head_count_kv") ?? heads;
  return { path, metadata, architecture, heads, kvHeads, tensorDims: new Map(tensors.map((tensor) => [tensor.name, tensor.dims])) };
}
