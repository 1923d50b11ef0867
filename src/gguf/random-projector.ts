// Random-weight vision projectors that llama.cpp's mtmd (`--mmproj`) loads: a tiny CLIP-style ViT
// with a LLaVA MLP projector (clip.projector_type "mlp"), keys and tensor names as
// tools/mtmd/clip-impl.h spells them. Paired with a random LLaMA of the same embedding size, it lets
// the whole image path (decode, encode, project, generate) run in tests without real vision weights.
import { z } from "zod";
import { InvalidArgumentError } from "../errors/index.js";
import { seededUniformValues } from "./seeded-random.js";
import type { GgufValue } from "./types.js";
import { writeGguf, type GgufTensorInput } from "./writer.js";

const randomProjectorSchema = z
  .object({
    path: z.string().min(1),
    /** The language model's embedding size: what the projector's last layer outputs. */
    textDim: z.number().int().positive(),
    /** The vision encoder's width. */
    visionDim: z.number().int().positive().default(32),
    /** Encoder blocks; LLaVA takes the features of the second-to-last, so `layers - 1` of them run. */
    layers: z.number().int().min(1).max(64).default(2),
    heads: z.number().int().positive().default(2),
    ffnDim: z.number().int().positive().default(64),
    /** Images are resized to imageSize × imageSize: (imageSize / patchSize)² image tokens each. */
    imageSize: z.number().int().positive().default(32),
    patchSize: z.number().int().positive().default(8),
    seed: z.number().int().default(1),
    name: z.string().default("camelid-random-mmproj"),
  })
  .superRefine((config, context) => {
    if (config.visionDim % config.heads !== 0) context.addIssue({ code: "custom", path: ["heads"], message: `visionDim ${config.visionDim} is not divisible by heads ${config.heads}` });
    if (config.imageSize % config.patchSize !== 0) context.addIssue({ code: "custom", path: ["patchSize"], message: `imageSize ${config.imageSize} is not a multiple of patchSize ${config.patchSize}` });
    // clip.cpp swaps ffn up/down of old LLaVA exports whose down matrix has visionDim columns; equal sizes would look like one.
    if (config.ffnDim === config.visionDim) context.addIssue({ code: "custom", path: ["ffnDim"], message: "ffnDim must differ from visionDim (llama.cpp would take the FFN for an old export and swap it)" });
  });

export type RandomProjectorOptions = z.input<typeof randomProjectorSchema>;

export interface RandomProjectorResult {
  path: string;
  /** Image tokens per image: (imageSize / patchSize)². */
  tokensPerImage: number;
  bytes: number;
}

interface Shape {
  name: string;
  dims: number[];
  /** 0: a norm weight (ones); -1: a bias or norm bias (zeros); otherwise the uniform weights' std. */
  std: number;
}

/** The tensors clip.cpp's LLaVA graph reads (models/llava.cpp), dims in ggml order ([in, out]). */
function projectorShapes(config: z.output<typeof randomProjectorSchema>): Shape[] {
  const { visionDim: d, ffnDim, textDim, layers, patchSize } = config;
  const patches = (config.imageSize / patchSize) ** 2;
  const matrix = (name: string, input: number, output: number): Shape[] => [
    { name: `${name}.weight`, dims: [input, output], std: 1 / Math.sqrt(input) },
    { name: `${name}.bias`, dims: [output], std: -1 },
  ];
  const norm = (name: string): Shape[] => [
    { name: `${name}.weight`, dims: [d], std: 0 },
    { name: `${name}.bias`, dims: [d], std: -1 },
  ];
  const shapes: Shape[] = [
    // A conv2d kernel [kw, kh, channels in, channels out] cutting the image into patches.
    { name: "v.patch_embd.weight", dims: [patchSize, patchSize, 3, d], std: 1 / Math.sqrt(3 * patchSize * patchSize) },
    { name: "v.patch_embd.bias", dims: [d], std: -1 },
    { name: "v.position_embd.weight", dims: [d, patches], std: 0.02 },
  ];
  for (let layer = 0; layer < layers; layer++) {
    const prefix = `v.blk.${layer}`;
    shapes.push(
      ...norm(`${prefix}.ln1`),
      ...matrix(`${prefix}.attn_q`, d, d),
      ...matrix(`${prefix}.attn_k`, d, d),
      ...matrix(`${prefix}.attn_v`, d, d),
      ...matrix(`${prefix}.attn_out`, d, d),
      ...norm(`${prefix}.ln2`),
      ...matrix(`${prefix}.ffn_up`, d, ffnDim),
      ...matrix(`${prefix}.ffn_down`, ffnDim, d),
    );
  }
  // LLaVA-1.5's projector: linear, GELU, linear (mm.0 and mm.2; mm.1 is the activation).
  shapes.push(...matrix("mm.0", d, textDim), ...matrix("mm.2", textDim, textDim));
  return shapes;
}

function weights(shape: Shape, seed: number): Float32Array {
  const count = shape.dims.reduce((product, dim) => product * dim, 1);
  if (shape.std === 0) return new Float32Array(count).fill(1);
  if (shape.std < 0) return new Float32Array(count);
  return seededUniformValues(shape.name, seed, count, shape.std * Math.sqrt(3));
}

/** Writes a projector GGUF that `llama-server --mmproj` loads beside a LLaMA whose embedding size is `textDim`. */
export async function writeRandomProjectorGguf(options: RandomProjectorOptions): Promise<RandomProjectorResult> {
  const parsed = randomProjectorSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(issue.path.join(".") || "options", `random projector: ${issue.path.join(".")}: ${issue.message}`);
  }
  const config = parsed.data;
  const u32 = (value: number): GgufValue => ({ type: "uint32", value });
  const floats = (values: number[]): GgufValue => ({ type: "array", value: { elementType: "float32", values: Float32Array.from(values) } });
  const metadata: [string, GgufValue][] = [
    ["general.architecture", { type: "string", value: "clip" }],
    ["general.name", { type: "string", value: config.name }],
    ["general.file_type", u32(0)],
    ["clip.has_vision_encoder", { type: "bool", value: true }],
    ["clip.projector_type", { type: "string", value: "mlp" }],
    ["clip.use_gelu", { type: "bool", value: true }],
    ["clip.vision.image_size", u32(config.imageSize)],
    ["clip.vision.patch_size", u32(config.patchSize)],
    ["clip.vision.embedding_length", u32(config.visionDim)],
    ["clip.vision.feed_forward_length", u32(config.ffnDim)],
    ["clip.vision.projection_dim", u32(config.textDim)],
    ["clip.vision.block_count", u32(config.layers)],
    ["clip.vision.attention.head_count", u32(config.heads)],
    ["clip.vision.attention.layer_norm_epsilon", { type: "float32", value: 1e-5 }],
    ["clip.vision.image_mean", floats([0.48145466, 0.4578275, 0.40821073])],
    ["clip.vision.image_std", floats([0.26862954, 0.26130258, 0.27577711])],
  ];
  const tensors: GgufTensorInput[] = projectorShapes(config).map((shape) => ({ name: shape.name, dims: shape.dims, type: "F32", data: () => weights(shape, config.seed) }));
  const { bytes } = await writeGguf(config.path, { metadata, tensors });
  return { path: config.path, tokensPerImage: (config.imageSize / config.patchSize) ** 2, bytes };
}
