// A rendered prompt with images as llama-server's /completion takes it: `{prompt_string, multimodal_data}`
// (tools/server server-common.cpp tokenize_input_subprompt). The prompt camelid rendered carries
// MEDIA_MARKER where each image goes; llama-server looks for its own marker (random per process unless
// LLAMA_MEDIA_MARKER pins it, reported as /props media_marker), so the markers are swapped for it.
import { Buffer } from "node:buffer";
import { InvalidArgumentError } from "../../errors/index.js";
import type { ChatImage, ChatMessage } from "../../spec/messages.js";
import { MEDIA_MARKER } from "../../spec/messages.js";

export interface MultimodalPrompt {
  prompt_string: string;
  /** Each image's bytes in base64, in the order of the markers. */
  multimodal_data: string[];
}

export { imagesOf } from "../../prompts/media-tokens.js";

export const hasImages = (messages: readonly ChatMessage[] | undefined) => (messages ?? []).some((message) => message.parts?.some((part) => part.type === "image"));

/**
 * `text` (rendered, with MEDIA_MARKER per image) for llama-server: markers swapped for `serverMarker`.
 * mtmd tokenizes the string with add_special and parse_special on, so a leading BOS the format
 * rendered as text is left out (`leadingBos`), or the model would see two.
 */
export function multimodalPrompt(text: string, images: readonly ChatImage[], serverMarker: string, leadingBos?: string): MultimodalPrompt {
  const pieces = text.split(MEDIA_MARKER);
  if (pieces.length - 1 !== images.length) {
    throw new InvalidArgumentError("messages", `the rendered prompt has ${pieces.length - 1} image marker(s) for ${images.length} image(s): a prompt format dropped or repeated an image`);
  }
  let prompt = pieces.join(serverMarker);
  if (leadingBos && prompt.startsWith(leadingBos)) prompt = prompt.slice(leadingBos.length);
  return { prompt_string: prompt, multimodal_data: images.map((image) => Buffer.from(image.bytes).toString("base64")) };
}
