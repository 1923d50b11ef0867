// `camelid pull`: resolve a Hub reference or URL to one file, download it once (locked, resumable,
// verified), check it is a GGUF, link it into the cache's snapshot and record a manifest.
import { mkdir, rename, symlink, unlink, writeFile } from "node:fs/promises";
import { dirname, relative } from "node:path";
import { InvalidArgumentError, UpstreamError } from "../errors/index.js";
import { sleep as realSleep } from "../retry/sleep.js";
import { CacheLayout, type DownloadPaths } from "./cache-layout.js";
import { withFileLock } from "./file-lock.js";
import { chooseGgufFile, isGgufFile, quantizationOfFile } from "./gguf-choice.js";
import { HubClient, type HubClientSettings } from "./hub-client.js";
import { ManifestStore, type Manifest } from "./manifests.js";
import { parseModelReference } from "./model-reference.js";
import { type DownloadEvent, type DownloadProgress, downloadResumable, fileSize, sha256OfFile } from "./resumable-download.js";
import { validateGgufFile } from "./validate-gguf.js";

export type PullEvent =
  | DownloadEvent
  | { type: "resolved"; name: string; file: string; size?: number; commit?: string }
  | { type: "waiting"; ownerPid?: number }
  | { type: "cached"; path: string }
  | { type: "retry"; attempt: number; delayMs: number; reason: string }
  | { type: "verified"; sha256: string; against?: string };

export interface PullOptions extends Omit<HubClientSettings, "onRetry"> {
  cacheDir: string;
  /** Branch, tag or commit (default "main"). */
  revision?: string;
  /** How often a pull waiting for another's lock looks again. */
  lockPollMs?: number;
  onProgress?: (progress: DownloadProgress) => void;
  onEvent?: (event: PullEvent) => void;
  now?: () => Date;
}

export interface PullResult {
  manifest: Manifest;
  /** False when the file was already in the cache (or another pull finished it while we waited). */
  downloaded: boolean;
}

interface Target {
  name: string;
  url: string;
  file: string;
  paths: DownloadPaths;
  expectedSha256?: string;
  expectedSize?: number;
  repo?: string;
  commit?: string;
  quantization?: string;
}

export async function pullModel(reference: string, options: PullOptions): Promise<PullResult> {
  const layout = new CacheLayout(options.cacheDir);
  const client = new HubClient({ ...options, onRetry: (info) => options.onEvent?.({ type: "retry", ...info }) });
  const parsed = parseModelReference(reference);
  const revision = options.revision ?? "main";
  // The revision names a file under refs/, as in huggingface_hub; "refs/pr/1" is fine, ".." is not.
  if (!/^[A-Za-z0-9._\/-]+$/.test(revision) || revision.split("/").some((part) => part === ".." || part === "")) {
    throw new InvalidArgumentError("revision", `"${revision}" is not a branch, tag or commit`);
  }
  const target = parsed.kind === "hub" ? await hubTarget(client, layout, parsed.repo, revision, parsed.selector) : urlTarget(layout, parsed.url);
  options.onEvent?.({ type: "resolved", name: target.name, file: target.file, size: target.expectedSize, commit: target.commit });

  const { downloaded, sha256, size } = await withFileLock(
    target.paths.lock,
    async () => {
      const existing = await fileSize(target.paths.blob);
      if (existing !== undefined && (target.expectedSize === undefined || existing === target.expectedSize)) {
        options.onEvent?.({ type: "cached", path: target.paths.blob });
        return { downloaded: false, size: existing, sha256: target.expectedSha256 ?? (await sha256OfFile(target.paths.blob)) };
      }
      const result = await downloadResumable(client, {
        url: target.url,
        repo: target.repo,
        incompletePath: target.paths.incomplete,
        expectedSha256: target.expectedSha256,
        expectedSize: target.expectedSize,
        onProgress: options.onProgress,
        onEvent: options.onEvent,
      });
      options.onEvent?.({ type: "verified", sha256: result.sha256, against: result.verifiedAgainst });
      try {
        await validateGgufFile(target.paths.incomplete, target.name);
      } catch (error) {
        await unlink(target.paths.incomplete).catch(() => undefined);
        throw error;
      }
      await rename(target.paths.incomplete, target.paths.blob);
      return { downloaded: true, size: result.size, sha256: result.sha256 };
    },
    { sleep: options.sleep ?? realSleep, pollMs: options.lockPollMs, signal: options.signal, onWait: (ownerPid) => options.onEvent?.({ type: "waiting", ownerPid }) },
  );

  let path = target.paths.blob;
  if (target.repo !== undefined && target.commit !== undefined) {
    path = layout.snapshotFile(target.repo, target.commit, target.file);
    await linkSnapshot(path, target.paths.blob);
    if (revision !== target.commit) {
      const ref = layout.ref(target.repo, revision);
      await mkdir(dirname(ref), { recursive: true });
      await writeFile(ref, target.commit);
    }
  }
  const manifest: Manifest = {
    name: target.name,
    source: target.repo !== undefined ? "hub" : "url",
    ...(target.repo !== undefined ? { repo: target.repo, revision, commit: target.commit } : {}),
    file: target.file,
    url: target.url,
    ...(target.quantization ? { quantization: target.quantization } : {}),
    size,
    sha256,
    path,
    blob: target.paths.blob,
    pulledAt: (options.now?.() ?? new Date()).toISOString(),
  };
  await new ManifestStore(layout.manifestsFolder).save(manifest);
  return { manifest, downloaded };
}

async function hubTarget(client: HubClient, layout: CacheLayout, repo: string, revision: string, selector?: string): Promise<Target> {
  const snapshot = await client.repoSnapshot(repo, revision);
  const file = chooseGgufFile(repo, snapshot.files.map((entry) => entry.path), selector);
  const entry = snapshot.files.find((candidate) => candidate.path === file)!;
  // huggingface_hub names a blob by its etag: the LFS sha256, or the git blob id for small files.
  const blobName = entry.sha256 ?? entry.blobId;
  if (blobName === undefined || !/^[0-9a-f]{40,64}$/.test(blobName)) {
    throw new UpstreamError(`${repo}: the Hub gave no sha256 or blob id for ${file}; cannot verify or cache it`);
  }
  const quantization = quantizationOfFile(file);
  const namedByFile = selector === undefined ? quantization === undefined : isGgufFile(selector);
  return {
    name: `hf:${repo}:${namedByFile || quantization === undefined ? file : quantization}`,
    url: client.resolveUrl(repo, snapshot.commit, file),
    file,
    paths: layout.hubBlob(repo, blobName),
    ...(entry.sha256 ? { expectedSha256: entry.sha256 } : {}),
    ...(entry.size !== undefined ? { expectedSize: entry.size } : {}),
    repo,
    commit: snapshot.commit,
    ...(quantization ? { quantization } : {}),
  };
}

function urlTarget(layout: CacheLayout, url: string): Target {
  const file = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? url);
  const quantization = quantizationOfFile(file);
  return { name: url, url, file, paths: layout.urlDownload(url), ...(quantization ? { quantization } : {}) };
}

/** snapshots/<commit>/<file> → ../../blobs/<sha256>, relative as huggingface_hub makes it; idempotent. */
async function linkSnapshot(path: string, blob: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await unlink(path).catch(() => undefined);
  try {
    await symlink(relative(dirname(path), blob), path);
  } catch (error) {
    // A concurrent pull of the same file made the same link first.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

