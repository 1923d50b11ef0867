// Image bytes as clients send them: data: URIs decoded strictly, and the type read from the bytes
// themselves (magic numbers), never trusted from a header or the URI alone.
import { Buffer } from "node:buffer";
import { ImageInputError } from "../../errors/index.js";
import type { ImageMimeType } from "../../spec/messages.js";

export const supportedImageTypes: readonly ImageMimeType[] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/** The image type the bytes start with, or undefined when they are none of the supported ones. */
export function sniffImageType(bytes: Uint8Array): ImageMimeType | undefined {
  const starts = (...signature: number[]) => signature.every((byte, index) => bytes[index] === byte);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x47, 0x49, 0x46, 0x38)) return "image/gif";
  // RIFF....WEBP
  if (starts(0x52, 0x49, 0x46, 0x46) && bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50) return "image/webp";
  return undefined;
}

const humanBytes = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`);

export function tooLarge(parameter: string, size: number | undefined, maxBytes: number): ImageInputError {
  return new ImageInputError(parameter, "too_large", `${parameter}: the image is ${size === undefined ? "larger than" : `${humanBytes(size)}, over`} the server's limit of ${humanBytes(maxBytes)} per image`);
}

/** The checked type of decoded bytes: a supported image, whatever the sender declared. */
export function checkedImageType(bytes: Uint8Array, declared: string | undefined, parameter: string): ImageMimeType {
  const sniffed = sniffImageType(bytes);
  if (sniffed) return sniffed;
  const what = declared ? `declared as ${declared}, ` : "";
  throw new ImageInputError(parameter, "unsupported_type", `${parameter}: the image (${what}${bytes.length} bytes) is not PNG, JPEG, GIF or WebP, the types every vision backend decodes`);
}

const base64Alphabet = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes `data:image/...;base64,...` strictly: standard base64 without whitespace, padded to a
 * multiple of 4 (Buffer.from would quietly skip bad characters and hand a broken image on).
 */
export function decodeDataUri(url: string, parameter: string, maxBytes: number): { bytes: Uint8Array; mimeType: ImageMimeType } {
  const comma = url.indexOf(",");
  const header = comma < 0 ? url : url.slice(0, comma);
  const match = /^data:([^;,]*)((?:;[^;,]*)*)$/i.exec(header);
  if (!match || comma < 0) throw new ImageInputError(parameter, "bad_base64", `${parameter}: not a data: URI ("data:image/png;base64,...")`);
  const declared = match[1].toLowerCase();
  const parameters = match[2].toLowerCase().split(";").filter(Boolean);
  if (declared !== "" && !supportedImageTypes.includes(declared as ImageMimeType) && declared !== "image/jpg") {
    throw new ImageInputError(parameter, "unsupported_type", `${parameter}: the data: URI's type "${declared}" is not one of ${supportedImageTypes.join(", ")}`);
  }
  if (!parameters.includes("base64")) throw new ImageInputError(parameter, "bad_base64", `${parameter}: the data: URI must be base64-encoded (";base64,")`);
  const payload = url.slice(comma + 1);
  // Checked before decoding, so an oversized upload is never held twice in memory.
  if (Math.floor(payload.length / 4) * 3 > maxBytes + 2) throw tooLarge(parameter, undefined, maxBytes);
  if (payload.length === 0 || payload.length % 4 !== 0 || !base64Alphabet.test(payload)) {
    throw new ImageInputError(parameter, "bad_base64", `${parameter}: the data: URI's payload is not valid base64 (standard alphabet, no whitespace, padded with "=" to a multiple of 4)`);
  }
  const bytes = new Uint8Array(Buffer.from(payload, "base64"));
  if (bytes.length > maxBytes) throw tooLarge(parameter, bytes.length, maxBytes);
  return { bytes, mimeType: checkedImageType(bytes, declared || undefined, parameter) };
}
