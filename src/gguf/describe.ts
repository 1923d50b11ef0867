// A readable summary of a GGUF model (what `camelid inspect` prints), from the header alone.
import {
  metadataArrayLength,
  metadataBoolean,
  metadataNumber,
  metadataNumberOrFirst,
  metadataString,
} from "./metadata-values.js";
import { describeImageTokens, projectorImageTokens, type ProjectorImageTokens } from "./projector-image-tokens.js";
import { readGgufHeader, type GgufReadOptions } from "./reader.js";
import type { GgufHeader, GgufMetadata } from "./types.js";

export interface SpecialToken {
  id: number;
  text: string | null;
}

export interface GgufDescription {
  file: string | null;
  fileSize: number;
  ggufVersion: number;
  architecture: string | null;
  name: string | null;
  parameterCount: number;
  tensorCount: number;
  /** How many tensors of each ggml type, e.g. {F32: 11, Q4_0: 36}. */
  tensorTypes: Record<string, number>;
  contextLength: number | null;
  embeddingLength: number | null;
  layers: number | null;
  heads: number | null;
  kvHeads: number | null;
  /** MHA: every head has its own K/V; GQA: groups of heads share one; MQA: all heads share one. */
  attention: "MHA" | "GQA" | "MQA" | null;
  headDim: number | null;
  feedForwardLength: number | null;
  rope: {
    freqBase: number | null;
    dimensionCount: number | null;
    scalingType: string | null;
    scalingFactor: number | null;
  };
  tokenizer: {
    model: string | null;
    pre: string | null;
    vocabSize: number | null;
    mergeCount: number | null;
    specialTokens: Record<"bos" | "eos" | "unk" | "pad" | "eot" | "sep", SpecialToken | null>;
    addBos: boolean | null;
    addEos: boolean | null;
  };
  chatTemplate: string | null;
  /**
   * A multimodal projector (llama.cpp's mtmd, `--mmproj`): what it gives the model it is paired with.
   * null for a language model (text only on its own).
   */
  projector: {
    /** "vision" when it encodes images (clip.has_vision_encoder). */
    capabilities: "vision"[];
    type: string | null;
    imageSize: number | null;
    patchSize: number | null;
    /** The embedding size it projects to: the paired language model's embedding length. */
    projectionDim: number | null;
    /** Tokens each image takes in the context, as llama.cpp's mtmd counts them (unknown where it depends on the picture). */
    imageTokens: ProjectorImageTokens;
  } | null;
}

const SPECIAL_TOKEN_KEYS = {
  bos: "tokenizer.ggml.bos_token_id",
  eos: "tokenizer.ggml.eos_token_id",
  unk: "tokenizer.ggml.unknown_token_id",
  pad: "tokenizer.ggml.padding_token_id",
  eot: "tokenizer.ggml.eot_token_id",
  // "seperator" is the key's real spelling in llama.cpp.
  sep: "tokenizer.ggml.seperator_token_id",
} as const;

function attentionKind(heads: number | null, kvHeads: number | null): GgufDescription["attention"] {
  if (!heads || !kvHeads) return null;
  if (kvHeads === heads) return "MHA";
  if (kvHeads === 1) return "MQA";
  return "GQA";
}

function specialTokens(metadata: GgufMetadata): GgufDescription["tokenizer"]["specialTokens"] {
  const tokens = metadata.get("tokenizer.ggml.tokens");
  const vocabulary = tokens?.type === "array" && tokens.value.elementType === "string" ? tokens.value.values : undefined;
  const result = {} as GgufDescription["tokenizer"]["specialTokens"];
  for (const [role, key] of Object.entries(SPECIAL_TOKEN_KEYS) as [keyof typeof SPECIAL_TOKEN_KEYS, string][]) {
    const id = metadataNumber(metadata, key);
    // llama.cpp writes -1 (0xFFFFFFFF as u32) for "none".
    if (id === undefined || id < 0 || id === 0xffffffff) {
      result[role] = null;
      continue;
    }
    result[role] = { id, text: vocabulary && id < vocabulary.length ? vocabulary[id] : null };
  }
  return result;
}

export function describeGgufHeader(header: GgufHeader, file: string | null = null): GgufDescription {
  const { metadata } = header;
  const architecture = metadataString(metadata, "general.architecture") ?? null;
  const arch = (key: string) => (architecture ? metadataNumberOrFirst(metadata, `${architecture}.${key}`) ?? null : null);
  const archString = (key: string) => (architecture ? metadataString(metadata, `${architecture}.${key}`) ?? null : null);

  const tensorTypes: Record<string, number> = {};
  let parameterCount = 0;
  for (const tensor of header.tensors) {
    tensorTypes[tensor.type] = (tensorTypes[tensor.type] ?? 0) + 1;
    parameterCount += tensor.elementCount;
  }

  const heads = arch("attention.head_count");
  const kvHeads = arch("attention.head_count_kv") ?? heads;
  const embeddingLength = arch("embedding_length");
  const headDim = arch("attention.key_length") ?? (embeddingLength && heads ? embeddingLength / heads : null);
  const tokenCount = metadataArrayLength(metadata, "tokenizer.ggml.tokens");

  return {
    file,
    fileSize: header.fileSize,
    ggufVersion: header.version,
    architecture,
    name: metadataString(metadata, "general.name") ?? null,
    parameterCount,
    tensorCount: header.tensors.length,
    tensorTypes,
    contextLength: arch("context_length"),
    embeddingLength,
    layers: arch("block_count"),
    heads,
    kvHeads,
    attention: attentionKind(heads, kvHeads),
    headDim,
    feedForwardLength: arch("feed_forward_length"),
    rope: {
      freqBase: arch("rope.freq_base"),
      dimensionCount: arch("rope.dimension_count"),
      scalingType: archString("rope.scaling.type"),
      scalingFactor: arch("rope.scaling.factor") ?? arch("rope.scale_linear"),
    },
    tokenizer: {
      model: metadataString(metadata, "tokenizer.ggml.model") ?? null,
      pre: metadataString(metadata, "tokenizer.ggml.pre") ?? null,
      vocabSize: tokenCount ?? arch("vocab_size"),
      mergeCount: metadataArrayLength(metadata, "tokenizer.ggml.merges") ?? null,
      specialTokens: specialTokens(metadata),
      addBos: metadataBoolean(metadata, "tokenizer.ggml.add_bos_token") ?? null,
      addEos: metadataBoolean(metadata, "tokenizer.ggml.add_eos_token") ?? null,
    },
    chatTemplate: metadataString(metadata, "tokenizer.chat_template") ?? null,
    projector: architecture === "clip" ? describeProjector(header) : null,
  };
}

/** The clip.* keys llama.cpp's mtmd reads (tools/mtmd/clip-impl.h). */
function describeProjector(header: GgufHeader): NonNullable<GgufDescription["projector"]> {
  const { metadata } = header;
  const number = (key: string) => metadataNumberOrFirst(metadata, key) ?? null;
  return {
    capabilities: metadataBoolean(metadata, "clip.has_vision_encoder") ? ["vision"] : [],
    type: metadataString(metadata, "clip.projector_type") ?? metadataString(metadata, "clip.vision.projector_type") ?? null,
    imageSize: number("clip.vision.image_size"),
    patchSize: number("clip.vision.patch_size"),
    projectionDim: number("clip.vision.projection_dim"),
    imageTokens: projectorImageTokens(header),
  };
}

/** Summarizes a GGUF file from its header; tensor data is never read. */
export async function describeGguf(path: string, options: GgufReadOptions = {}): Promise<GgufDescription> {
  return describeGgufHeader(await readGgufHeader(path, options), path);
}

function formatCount(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(2)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(2)}M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(1)}K`;
  return String(count);
}

/** "1.1 MiB (1185376 bytes)"; `exact: false` drops the byte count (progress lines, tables). */
export function formatBytes(bytes: number, options: { exact?: boolean } = {}): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  return options.exact === false ? `${value.toFixed(1)} ${units[unit]}` : `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}

const show = (value: unknown): string => (value === null || value === undefined ? "-" : String(value));

/** The human-readable form of a description, one fact per line. */
export function formatGgufDescription(description: GgufDescription): string {
  const d = description;
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(18)} ${value}`);
  if (d.file) row("file", d.file);
  row("size", `${formatBytes(d.fileSize)}, GGUF v${d.ggufVersion}`);
  row("architecture", show(d.architecture));
  row("name", show(d.name));
  row("parameters", `${formatCount(d.parameterCount)} (${d.parameterCount}) in ${d.tensorCount} tensors`);
  const types = Object.entries(d.tensorTypes)
    .sort((a, b) => b[1] - a[1])
    .map(([type, count]) => `${type} ×${count}`);
  row("tensor types", types.length > 0 ? types.join(", ") : "-");
  row("context length", show(d.contextLength));
  row("embedding length", show(d.embeddingLength));
  row("layers", show(d.layers));
  row("heads", d.heads === null ? "-" : `${d.heads} query, ${show(d.kvHeads)} KV${d.attention ? ` (${d.attention})` : ""}, head dim ${show(d.headDim)}`);
  row("feed-forward", show(d.feedForwardLength));
  const rope = [`freq base ${d.rope.freqBase === null ? "- (llama.cpp default 10000)" : d.rope.freqBase}`, `dims ${show(d.rope.dimensionCount)}`];
  if (d.rope.scalingType || d.rope.scalingFactor !== null) rope.push(`scaling ${show(d.rope.scalingType)} ×${show(d.rope.scalingFactor)}`);
  row("rope", rope.join(", "));
  const t = d.tokenizer;
  row("tokenizer", `${show(t.model)}${t.pre ? ` (pre: ${t.pre})` : ""}, ${show(t.vocabSize)} tokens${t.mergeCount !== null ? `, ${t.mergeCount} merges` : ""}`);
  const specials = Object.entries(t.specialTokens)
    .filter(([, token]) => token !== null)
    .map(([role, token]) => `${role}=${token!.id}${token!.text !== null ? ` ${JSON.stringify(token!.text)}` : ""}`);
  row("special tokens", specials.length > 0 ? specials.join(", ") : "-");
  row("add bos / eos", `${show(t.addBos)} / ${show(t.addEos)}`);
  if (d.chatTemplate === null) row("chat template", "-");
  else {
    row("chat template", `${d.chatTemplate.length} characters:`);
    lines.push(...d.chatTemplate.split("\n").map((line) => `  ${line}`));
  }
  const p = d.projector;
  if (p) {
    const tokens = `, ${describeImageTokens(p.imageTokens)}`;
    row("projector", `${show(p.type)}: ${p.capabilities.length > 0 ? `accepts ${p.capabilities.join(", ")}` : "no vision encoder"}; images ${show(p.imageSize)} px in ${show(p.patchSize)} px patches${tokens}`);
    row("pairs with", `a model of embedding length ${show(p.projectionDim)} (serve it with --mmproj)`);
  } else {
    row("capabilities", "text only (images need a --mmproj projector)");
  }
  return `${lines.join("\n")}\n`;
}
