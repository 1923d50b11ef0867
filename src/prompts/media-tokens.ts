// The tokens a rendered prompt with images becomes in llama.cpp's mtmd (tools/mtmd/mtmd.cpp
// mtmd_tokenizer::tokenize, as llama-server calls it: add_special and parse_special on): the text is
// cut at each media marker, every piece tokenized on its own with special tokens parsed, each image
// takes its projector's count of embeddings (between the projector's begin and end texts), and BOS
// goes in front when the vocabulary adds one. Counting it the same way is what lets the context check
// and the usage agree with what llama-server evaluates.
import { InvalidArgumentError } from "../errors/index.js";
import type { ProjectorImageTokens } from "../gguf/projector-image-tokens.js";
import type { ChatImage, ChatMessage } from "../spec/messages.js";
import { MEDIA_MARKER } from "../spec/messages.js";
import type { ImageTokenSpan } from "../spec/prompt.js";
import type { PromptTokenizer } from "./tokenized-prompt.js";

/** The images of the messages a prompt was rendered from, in order. */
export function imagesOf(messages: readonly ChatMessage[]): ChatImage[] {
  return messages.flatMap((message) => (message.parts ?? []).flatMap((part) => (part.type === "image" ? [part.image] : [])));
}

export interface MediaTokenLayout {
  /** The text tokens' ids in order (an image's embeddings have none; `images` says where they go). */
  tokens: number[];
  images: ImageTokenSpan[];
  /** Every position the prompt takes, images included; images of unknown size count 0 (see `images`). */
  count: number;
}

/**
 * `text` as mtmd tokenizes it. A BOS the format rendered as text is left out when the tokenizer adds
 * its own (llama-server's engine sends the text without it, see providers/shared/multimodal-prompt.ts).
 */
export async function tokenizeWithImages(tokenizer: PromptTokenizer, text: string, images: readonly ChatImage[], imageTokens: ProjectorImageTokens): Promise<MediaTokenLayout> {
  const addBos = tokenizer.addBos && tokenizer.bos !== null;
  const body = addBos && tokenizer.bosString && text.startsWith(tokenizer.bosString) ? text.slice(tokenizer.bosString.length) : text;
  const pieces = body.split(MEDIA_MARKER);
  if (pieces.length - 1 !== images.length) {
    throw new InvalidArgumentError("messages", `the rendered prompt has ${pieces.length - 1} image marker(s) for ${images.length} image(s): a prompt format dropped or repeated an image`);
  }
  const tokens: number[] = addBos ? [tokenizer.bos!] : [];
  const spans: ImageTokenSpan[] = [];
  let imagePositions = 0;
  const addText = async (piece: string) => {
    if (piece !== "") tokens.push(...(await tokenizer.tokenize(piece, true)));
  };
  for (const [index, piece] of pieces.entries()) {
    await addText(piece);
    const image = images[index];
    if (!image) continue;
    if (imageTokens.known) await addText(imageTokens.begin);
    const start = tokens.length + imagePositions;
    if (imageTokens.known) {
      spans.push({ sha256: image.sha256, start, tokens: imageTokens.imageTokens });
      imagePositions += imageTokens.imageTokens;
      await addText(imageTokens.end);
    } else {
      spans.push({ sha256: image.sha256, start, tokens: null, reason: imageTokens.reason });
    }
  }
  return { tokens, images: spans, count: tokens.length + imagePositions };
}
