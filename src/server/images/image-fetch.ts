// http(s) image URLs, fetched only when the server allows them (`images.allowUrls`): a timeout over
// the whole download, the size limit enforced while reading (a lying Content-Length changes nothing).
import { ImageInputError, TimeoutError } from "../../errors/index.js";
import type { ImageMimeType } from "../../spec/messages.js";
import { checkedImageType, tooLarge } from "./image-bytes.js";

export interface ImageFetchLimits {
  maxBytes: number;
  timeoutMs: number;
}

export async function fetchImage(
  url: URL,
  parameter: string,
  limits: ImageFetchLimits,
  fetchImpl: typeof fetch = fetch,
): Promise<{ bytes: Uint8Array; mimeType: ImageMimeType }> {
  const failed = (why: string, cause?: unknown) => new ImageInputError(parameter, "fetch_failed", `${parameter}: fetching ${url.href} failed: ${why}`, { cause });
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    const response = await fetchImpl(url, { signal, redirect: "follow", headers: { accept: "image/png, image/jpeg, image/gif, image/webp" } });
    if (!response.ok) throw failed(`HTTP ${response.status}`);
    const declared = response.headers.get("content-type")?.split(";")[0].trim().toLowerCase();
    if (declared && !declared.startsWith("image/")) {
      throw new ImageInputError(parameter, "unsupported_type", `${parameter}: ${url.href} answered with content type "${declared}", not an image`);
    }
    const length = Number(response.headers.get("content-length"));
    if (Number.isFinite(length) && length > limits.maxBytes) throw tooLarge(parameter, length, limits.maxBytes);
    const bytes = await readCapped(response, limits.maxBytes, parameter);
    return { bytes, mimeType: checkedImageType(bytes, declared, parameter) };
  } catch (error) {
    if (error instanceof ImageInputError) throw error;
    if (signal.aborted) throw failed(`no complete answer within ${limits.timeoutMs} ms`, new TimeoutError(limits.timeoutMs));
    throw failed(error instanceof Error ? error.message : String(error), error);
  }
}

async function readCapped(response: Response, maxBytes: number, parameter: string): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(parameter, undefined, maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
