// Images stored once by content: `<data dir>/images/<sha256>.<ext>`. The same picture sent twice (or
// in every turn of a conversation) is one file; logs and conversations keep only the hash.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../files/atomic-write.js";
import type { ImageMimeType } from "../../spec/messages.js";
import { supportedImageTypes } from "./image-bytes.js";

/** What a log row or a stored message keeps of an image instead of its bytes. */
export interface ImageReference {
  sha256: string;
  mime_type: ImageMimeType;
  size: number;
}

const extensions: Record<ImageMimeType, string> = { "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp" };

export const imagesSubdirectory = "images";

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export class ImageStore {
  constructor(readonly directory: string) {}

  /** Stores the bytes unless a file with their hash is already there; returns the reference. */
  put(bytes: Uint8Array, mimeType: ImageMimeType): ImageReference {
    const sha256 = sha256Hex(bytes);
    const path = this.pathOf(sha256, mimeType);
    if (!existsSync(path)) {
      mkdirSync(this.directory, { recursive: true });
      writeFileAtomic(path, [bytes]);
    }
    return { sha256, mime_type: mimeType, size: bytes.length };
  }

  /** The stored image with this hash, or undefined. */
  get(sha256: string): { bytes: Uint8Array; mimeType: ImageMimeType } | undefined {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    for (const mimeType of supportedImageTypes) {
      const path = this.pathOf(sha256, mimeType);
      if (existsSync(path)) return { bytes: new Uint8Array(readFileSync(path)), mimeType };
    }
    return undefined;
  }

  private pathOf(sha256: string, mimeType: ImageMimeType): string {
    return join(this.directory, `${sha256}.${extensions[mimeType]}`);
  }
}
