// Where a chat request's image URLs become checked, stored images: data: URIs decoded, http(s) URLs
// fetched when allowed, each image stored once by hash. One per server; its limits come from config.
import { z } from "zod";
import { ImageInputError } from "../../errors/index.js";
import type { ChatImage } from "../../spec/messages.js";
import { ResourceNotFoundError } from "../http-errors.js";
import { decodeDataUri, tooLarge } from "./image-bytes.js";
import { fetchImage } from "./image-fetch.js";
import type { ImageReference, ImageStore } from "./image-store.js";

/** `images` in the serve config (and the flags that set it): what the server accepts. */
export const imageOptionsSchema = z.strictObject({
  /** Largest image, decoded; bigger ones answer 400 image_too_large. */
  maxBytes: z.number().int().min(1).max(256 * 1024 * 1024).default(8 * 1024 * 1024),
  /** Images per request. */
  maxPerRequest: z.number().int().min(1).max(256).default(16),
  /** Fetch http(s) image URLs (off: only data: URIs; on, the server makes requests the client chooses). */
  allowUrls: z.boolean().default(false),
  /** Deadline for one image's whole download. */
  fetchTimeoutMs: z.number().int().min(1).max(600_000).default(10_000),
});
export type ImageOptions = z.output<typeof imageOptionsSchema>;
export const defaultImageOptions: ImageOptions = imageOptionsSchema.parse({});

/** A data: URI's header ("data:image/jpeg;base64,") and the JSON around one image part, generously. */
const IMAGE_PART_OVERHEAD_BYTES = 256;

/**
 * The body a request carrying images may have: every image at the size limit, base64-encoded (4/3),
 * with its part's JSON, plus `textBytes` (the server's ordinary body limit) for everything else. A
 * request within the image limits is then never refused as too large before its images are checked.
 */
export function imageBodyLimit(options: ImageOptions, textBytes: number): number {
  const perImage = Math.ceil(options.maxBytes / 3) * 4 + IMAGE_PART_OVERHEAD_BYTES;
  return textBytes + options.maxPerRequest * perImage;
}

export interface ReadImage {
  image: ChatImage;
  reference: ImageReference;
}

/** A request names a stored image (by hash) that the store no longer holds: 404 image_not_stored. */
export class ImageNotStoredError extends ResourceNotFoundError {
  override readonly code = "image_not_stored";
  constructor(
    readonly parameter: string,
    readonly sha256: string,
  ) {
    super("image", `${parameter}: image ${sha256} is no longer stored on this server`);
  }
}

/**
 * How a request the server builds itself (an arena side's turn) names an image it already stored: the
 * path GET /api/images/:sha256 serves it at. Read only where the caller allows it (`stored: true`), so a
 * client's own image URLs stay data: URIs or fetched http(s) URLs.
 */
export const storedImagePath = (sha256: string): string => `/api/images/${sha256}`;
const storedImagePattern = /^\/api\/images\/([0-9a-f]{64})$/;

export class ImageIntake {
  constructor(
    readonly store: ImageStore,
    readonly options: ImageOptions = defaultImageOptions,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /**
   * Reads one `image_url` part; `parameter` names it in errors. With `stored`, a storedImagePath URL is
   * taken from the store as it is (readStored); any other URL is read as a client's.
   */
  async read(url: string, detail: ChatImage["detail"], parameter: string, { stored = false }: { stored?: boolean } = {}): Promise<ReadImage> {
    const storedHash = stored ? storedImagePattern.exec(url)?.[1] : undefined;
    if (storedHash !== undefined) return this.readStored(storedHash, detail, parameter);
    const { bytes, mimeType } = await this.bytesOf(url, parameter);
    const reference = this.store.put(bytes, mimeType);
    return { image: { sha256: reference.sha256, mimeType, bytes, url, ...(detail ? { detail } : {}) }, reference };
  }

  /**
   * An image the store already holds, by hash: the same image and reference read() gave when it was
   * stored (its type was checked from its bytes then, and the file is named by their hash), without
   * decoding, checking, hashing or storing it again. The size limit still applies: it may have shrunk
   * since. A hash the store no longer holds is ImageNotStoredError (404), never a 500.
   */
  readStored(sha256: string, detail: ChatImage["detail"], parameter: string): ReadImage {
    const stored = this.store.get(sha256);
    if (!stored) throw new ImageNotStoredError(parameter, sha256);
    if (stored.bytes.length > this.options.maxBytes) throw tooLarge(parameter, stored.bytes.length, this.options.maxBytes);
    return {
      image: { sha256, mimeType: stored.mimeType, bytes: stored.bytes, ...(detail ? { detail } : {}) },
      reference: { sha256, mime_type: stored.mimeType, size: stored.bytes.length },
    };
  }

  private async bytesOf(url: string, parameter: string) {
    if (/^data:/i.test(url)) return decodeDataUri(url, parameter, this.options.maxBytes);
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
      throw new ImageInputError(parameter, "unsupported_type", `${parameter}: an image URL is a data: URI or an http(s) URL`);
    }
    if (!this.options.allowUrls) {
      throw new ImageInputError(parameter, "url_not_allowed", `${parameter}: this server takes images as data: URIs only; http(s) image URLs are off (serve with --allow-image-urls to fetch them)`);
    }
    return fetchImage(parsed, parameter, { maxBytes: this.options.maxBytes, timeoutMs: this.options.fetchTimeoutMs }, this.fetchImpl);
  }
}
