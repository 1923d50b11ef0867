// A download that survives interruption: bytes go to `<blob>.incomplete`, a later attempt (this run's
// retry or the next `pull`) asks for the rest with Range, and the whole is checked against its sha256.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, stat, truncate, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { ConnectionError, UpstreamError } from "../errors/index.js";
import { ChecksumMismatchError } from "./errors.js";
import { backoffDelayMs } from "../retry/retry-policy.js";
import { describeFailure, type HubClient } from "./hub-client.js";

export interface DownloadProgress {
  downloaded: number;
  total: number | undefined;
  /** Bytes already on disk when this run started (a resumed download): not counted in this run's rate. */
  resumedFrom: number;
}

export type DownloadEvent =
  | { type: "resuming"; from: number }
  | { type: "restarting"; reason: string }
  | { type: "interrupted"; at: number; reason: string };

export interface DownloadRequest {
  url: string;
  repo?: string;
  incompletePath: string;
  expectedSha256?: string;
  expectedSize?: number;
  onProgress?: (progress: DownloadProgress) => void;
  onEvent?: (event: DownloadEvent) => void;
}

export interface DownloadResult {
  sha256: string;
  size: number;
  /** The sha256 the bytes were checked against (the Hub's LFS metadata or X-Linked-Etag), if any. */
  verifiedAgainst?: string;
}

/**
 * Fetches `url` into `incompletePath`, continuing what is already there. A 206 whose Content-Range starts
 * where we stopped is appended; a 200 (a server that ignores Range) or a mismatching range starts the file
 * over. A connection dropped mid-body is retried with Range under the client's retry policy; when retries
 * run out the partial file stays for the next run. A wrong sha256 deletes the partial file.
 */
export async function downloadResumable(client: HubClient, request: DownloadRequest): Promise<DownloadResult> {
  await mkdir(dirname(request.incompletePath), { recursive: true });
  let expectedSha256 = request.expectedSha256;
  let expectedSize = request.expectedSize;
  /** What was on disk when this run began: a retry within the run keeps counting from there. */
  let resumedFrom: number | undefined;
  for (let attempt = 0; ; attempt++) {
    let have = (await fileSize(request.incompletePath)) ?? 0;
    if (expectedSize !== undefined && have > expectedSize) {
      request.onEvent?.({ type: "restarting", reason: `the partial file (${have} bytes) is longer than the file (${expectedSize})` });
      await truncate(request.incompletePath, 0);
      have = 0;
    }
    if (resumedFrom === undefined && have > 0) request.onEvent?.({ type: "resuming", from: have });
    resumedFrom ??= have;
    const { response, linked } = await client.request(request.url, { repo: request.repo, headers: have > 0 ? { range: `bytes=${have}-` } : {} });
    expectedSha256 ??= linked.sha256;
    if (response.status === 416) {
      // The partial file covers all there is or is wrong; the hash decides below, or we start over.
      await response.body?.cancel().catch(() => undefined);
      if (expectedSize !== undefined && have === expectedSize) break;
      request.onEvent?.({ type: "restarting", reason: "the server refused the range" });
      await truncate(request.incompletePath, 0);
      continue;
    }
    let start = 0;
    let total = linked.size;
    if (response.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
      start = range ? Number(range[1]) : -1;
      if (range && range[3] !== "*") total = Number(range[3]);
      if (start !== have) {
        await response.body?.cancel().catch(() => undefined);
        request.onEvent?.({ type: "restarting", reason: `the server sent a range from byte ${start}, not ${have}` });
        await truncate(request.incompletePath, 0);
        continue;
      }
    } else {
      if (have > 0) request.onEvent?.({ type: "restarting", reason: `the server ignored Range (HTTP ${response.status})` });
      const length = numberHeader(response.headers, "content-length");
      if (length !== undefined && total === undefined) total = length;
    }
    total ??= expectedSize;
    expectedSize ??= total;
    if (start === 0) resumedFrom = 0;
    const hash = createHash("sha256");
    if (start > 0) await hashFile(request.incompletePath, hash);
    const written = await appendBody(response, request, hash, start, { total, resumedFrom });
    if (written.failure) {
      const reason = written.failure;
      request.onEvent?.({ type: "interrupted", at: written.size, reason });
      if (attempt >= client.retryPolicy.maxRetries) {
        throw new ConnectionError(`${request.url}: the download broke off at byte ${written.size} (${reason}); run pull again to resume`);
      }
      await client.wait(attempt, backoffDelayMs(attempt, client.retryPolicy), reason);
      continue;
    }
    if (expectedSize !== undefined && written.size !== expectedSize) {
      if (written.size > expectedSize || attempt >= client.retryPolicy.maxRetries) {
        await unlink(request.incompletePath).catch(() => undefined);
        throw new UpstreamError(`${request.url}: got ${written.size} bytes, expected ${expectedSize}; the download was deleted`);
      }
      continue;
    }
    return finish(request, hash.digest("hex"), written.size, expectedSha256);
  }
  return finish(request, await sha256OfFile(request.incompletePath), (await fileSize(request.incompletePath)) ?? 0, expectedSha256);
}

async function finish(request: DownloadRequest, sha256: string, size: number, expected: string | undefined): Promise<DownloadResult> {
  if (expected !== undefined && sha256 !== expected) {
    await unlink(request.incompletePath).catch(() => undefined);
    throw new ChecksumMismatchError(request.url, expected, sha256);
  }
  return { sha256, size, ...(expected ? { verifiedAgainst: expected } : {}) };
}

/** Streams the body to the file at `start` (0 truncates); a broken stream is reported, not thrown. */
async function appendBody(
  response: Response,
  request: DownloadRequest,
  hash: Hash,
  start: number,
  progress: { total: number | undefined; resumedFrom: number },
): Promise<{ size: number; failure?: string }> {
  const file = await open(request.incompletePath, start > 0 ? "a" : "w");
  let size = start;
  try {
    if (!response.body) return { size };
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      await file.write(chunk);
      hash.update(chunk);
      size += chunk.byteLength;
      request.onProgress?.({ downloaded: size, total: progress.total, resumedFrom: progress.resumedFrom });
    }
    return { size };
  } catch (failure) {
    return { size, failure: describeFailure(failure) };
  } finally {
    await file.close();
  }
}

function numberHeader(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

/** The file's size, or undefined when there is no file. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  await hashFile(path, hash);
  return hash.digest("hex");
}
