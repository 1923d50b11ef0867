/** A chat message as every prompt format and provider sees it. */
export type ChatRole = "system" | "user" | "assistant";

/**
 * llama.cpp's media marker (mtmd_default_marker): where an image's tokens go in a rendered prompt.
 * A message with images carries one in its `content` per image, in order.
 */
export const MEDIA_MARKER = "<__media__>";

/** The image types every vision backend (llama.cpp's stb_image, OpenAI, Ollama, vLLM) decodes. */
export type ImageMimeType = "image/png" | "image/jpeg" | "image/gif" | "image/webp";

/** An image a message carries: its bytes, and the content hash it is stored and logged under. */
export interface ChatImage {
  sha256: string;
  mimeType: ImageMimeType;
  bytes: Uint8Array;
  /**
   * The URL as the client sent it (a data: URI, or the http(s) URL that was fetched); absent for an
   * image the server took from its own store by hash (an arena side's turn), whose bytes are all there is.
   */
  url?: string;
  /** OpenAI's `detail` hint, passed on to upstreams that take it. */
  detail?: "auto" | "low" | "high";
}

/** One piece of a message in order: text, or an image. */
export type ChatMessagePart = { type: "text"; text: string } | { type: "image"; image: ChatImage };

export interface ChatMessage {
  role: ChatRole;
  /** The text; a message with images has MEDIA_MARKER where each image goes. */
  content: string;
  /** Present when the message carries images: text and images in the client's order. */
  parts?: ChatMessagePart[];
}
