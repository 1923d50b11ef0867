// How many tokens one image becomes in the language model's context, read from a projector GGUF the way
// llama.cpp's mtmd counts them (tools/mtmd/clip.cpp clip_n_output_tokens, mtmd.cpp init_vision and
// add_media). Only projectors whose images are resized to one fixed square (mtmd's fixed-size
// preprocessor) have a count that is a formula of the metadata alone; the others (dynamic resolution,
// tiles, slices) depend on the picture's own size and are reported as unknown rather than guessed.
import { metadataArrayLength, metadataNumber, metadataString } from "./metadata-values.js";
import type { GgufHeader } from "./types.js";

export type ProjectorImageTokens =
  | {
      known: true;
      projectorType: string;
      /** Embeddings per image (clip_n_output_tokens of the image resized to image_size²). */
      imageTokens: number;
      /** Text mtmd puts before and after each image (tokenized with special tokens parsed); "" for none. */
      begin: string;
      end: string;
    }
  | { known: false; projectorType: string; reason: string };

const KEY = {
  projectorType: "clip.projector_type",
  visionProjectorType: "clip.vision.projector_type",
  imageSize: "clip.vision.image_size",
  patchSize: "clip.vision.patch_size",
  scaleFactor: "clip.vision.projector.scale_factor",
  pinpoints: "clip.vision.image_grid_pinpoints",
} as const;

/** Projectors that take mtmd's fixed-size path unless the file lists grid pinpoints (llava-uhd tiling). */
const pinpointAware = new Set(["mlp", "ldp", "ldpv2", "cogvlm", "janus_pro", "adapter"]);

export function projectorImageTokens(header: GgufHeader): ProjectorImageTokens {
  const { metadata } = header;
  const projectorType = metadataString(metadata, KEY.projectorType) || metadataString(metadata, KEY.visionProjectorType) || "";
  const unknown = (reason: string): ProjectorImageTokens => ({ known: false, projectorType: projectorType || "(none)", reason });
  if (!projectorType) return unknown(`the projector names no type (${KEY.projectorType})`);
  const imageSize = metadataNumber(metadata, KEY.imageSize);
  const patchSize = metadataNumber(metadata, KEY.patchSize);
  if (!imageSize || !patchSize) return unknown(`the projector lacks ${KEY.imageSize} or ${KEY.patchSize}`);
  if (pinpointAware.has(projectorType) && (metadataArrayLength(metadata, KEY.pinpoints) ?? 0) > 0) {
    return unknown(`projector "${projectorType}" tiles images over grid pinpoints (LLaVA-1.6 style): the count depends on each image's size`);
  }
  // Integer arithmetic as in clip.cpp: patches per side first, then their product.
  const side = Math.floor(imageSize / patchSize);
  const patches = side * side;
  const merge = (fallback: number) => metadataNumber(metadata, KEY.scaleFactor) ?? fallback;
  const fixed = (imageTokens: number, begin = "", end = ""): ProjectorImageTokens => ({ known: true, projectorType, imageTokens, begin, end });
  switch (projectorType) {
    case "mlp":
    case "janus_pro":
      return fixed(patches);
    case "ldp":
    case "ldpv2":
      return fixed(Math.floor(patches / 4));
    case "adapter": {
      // GLM-Edge: its begin/end-of-image embeddings (adapter.boi / adapter.eoi) sit inside the image's span.
      const hasBoi = header.tensors.some((tensor) => tensor.name === "adapter.boi");
      return fixed(Math.floor(patches / 4) + (hasBoi ? 2 : 0));
    }
    case "cogvlm":
      return fixed(patches + 2);
    case "yasa2":
      return fixed(64, "<image>", "</image>");
    case "gemma3": {
      const m = merge(4);
      return fixed(Math.floor(patches / (m * m)), "<start_of_image>", "<end_of_image>");
    }
    case "gemma3nv":
      return fixed(side, "<start_of_image>", "<end_of_image>");
    case "nemotron_v2_vl": {
      const m = merge(1);
      return fixed(Math.floor(patches / (m * m)));
    }
    default:
      return unknown(`projector "${projectorType}" sizes each image by its own dimensions (or tiles it); camelid does not count its tokens`);
  }
}

/** In words, for `inspect` and the prompt inspector. */
export function describeImageTokens(count: ProjectorImageTokens): string {
  if (!count.known) return `unknown tokens per image (${count.reason})`;
  const wrap = count.begin || count.end ? `, between ${JSON.stringify(count.begin)} and ${JSON.stringify(count.end)}` : "";
  return `${count.imageTokens} tokens per image${wrap}`;
}
