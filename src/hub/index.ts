/**
 * Models in: pull GGUF files from the Hugging Face Hub (or any https URL) into a local cache, list and remove them.
 *
 *   const { manifest } = await pullModel("hf:owner/repo:Q4_K_M", { cacheDir: defaultCacheDir(process.env), token: process.env.HF_TOKEN });
 *
 * - The cache uses huggingface_hub's layout (see cache-layout.ts); downloads are locked per blob, resumable
 *   with Range, verified against the Hub's LFS sha256 and checked with camelid's GGUF reader.
 * - Errors are typed: HubAccessError (401/403, set HF_TOKEN), HubNotFoundError (404), NoMatchingFileError,
 *   AmbiguousFileError, ChecksumMismatchError, RateLimitError (429 after retries), ConnectionError.
 */
export { pullModel, type PullEvent, type PullOptions, type PullResult } from "./pull.js";
export { removeModel, type RemoveResult } from "./remove.js";
export { CacheLayout, defaultCacheDir, repoFolderName } from "./cache-layout.js";
export { ManifestStore, findCreated, findManifest, isPulled, pulledModelPath, type Manifest, type StoredModel } from "./manifests.js";
export { parseModelReference, type ModelReference } from "./model-reference.js";
export { chooseGgufFile, quantizationOfFile, DEFAULT_QUANTIZATION } from "./gguf-choice.js";
export { HubClient, DEFAULT_HUB_ENDPOINT, type HubClientSettings, type RepoSnapshot } from "./hub-client.js";
export type { DownloadProgress } from "./resumable-download.js";
export { AmbiguousFileError, ChecksumMismatchError, HubAccessError, HubNotFoundError, NoMatchingFileError } from "./errors.js";
