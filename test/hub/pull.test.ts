import { existsSync, readFileSync, readlinkSync, readdirSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionError, GgufFormatError, RateLimitError, UpstreamError } from "../../src/errors/index.js";
import {
  AmbiguousFileError,
  ChecksumMismatchError,
  HubAccessError,
  HubNotFoundError,
  ManifestStore,
  NoMatchingFileError,
  pullModel,
  type PullEvent,
  type PullOptions,
} from "../../src/hub/index.js";
import { CacheLayout } from "../../src/hub/cache-layout.js";
import { startFakeHub, type FakeHub } from "../support/fake-hub-server.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { COMMIT, recordingSleep, tinyGguf } from "./fixtures.js";

const newCache = temporaryDirectories("camelid-pull-");
let hub: FakeHub;
let stories: Uint8Array;
const files: Record<string, Uint8Array> = {};

beforeAll(async () => {
  stories = new Uint8Array(readFileSync(stories260KPath()));
  for (const name of ["m-Q4_K_M.gguf", "m-Q8_0.gguf", "m-f16.gguf", "big-Q8_0.gguf"]) files[name] = await tinyGguf(name, name.startsWith("big") ? 32_768 : 4096);
  hub = await startFakeHub({
    "tiny/stories": { commit: COMMIT, files: { "stories260K.gguf": stories, "README.md": new TextEncoder().encode("# stories\n") } },
    "tiny/quants": { commit: COMMIT, files: { "m-Q4_K_M.gguf": files["m-Q4_K_M.gguf"], "m-Q8_0.gguf": files["m-Q8_0.gguf"], "m-f16.gguf": files["m-f16.gguf"] } },
    "tiny/twins": { commit: COMMIT, files: { "a/m-Q8_0.gguf": files["m-Q8_0.gguf"], "b/m-q8_0.gguf": files["m-f16.gguf"] } },
    "tiny/big": { commit: COMMIT, files: { "big-Q8_0.gguf": files["big-Q8_0.gguf"] } },
    "tiny/wrong-hash": { commit: COMMIT, files: { "m-Q8_0.gguf": files["m-Q8_0.gguf"] }, wrongSha256: ["m-Q8_0.gguf"] },
    "tiny/not-gguf": { commit: COMMIT, files: { "m-Q8_0.gguf": new TextEncoder().encode("<html>not a model</html>") } },
    "tiny/hostile": { commit: COMMIT, files: { "../../escape-Q8_0.gguf": files["m-Q8_0.gguf"] } },
    "tiny/truncated": { commit: COMMIT, files: { "m-Q8_0.gguf": files["m-Q8_0.gguf"].subarray(0, files["m-Q8_0.gguf"].byteLength - 100) } },
    "meta/gated": { commit: COMMIT, files: { "m-Q4_K_M.gguf": files["m-Q4_K_M.gguf"] }, gatedToken: "hf_right_token" },
  });
});
afterAll(() => hub.close());

function options(cacheDir: string, extra: Partial<PullOptions> = {}): PullOptions {
  return { cacheDir, endpoint: hub.endpoint, sleep: recordingSleep().sleep, ...extra };
}

/**
 * Cuts the next download of `sha256` after `afterBytes`, once the client has written them (its progress
 * says so): a client drops bytes that arrive together with the reset, so the cut waits for that event.
 */
function cutDownload(sha256: string, afterBytes: number) {
  let seen!: () => void;
  const when = new Promise<void>((resolve) => (seen = resolve));
  hub.fault(`/cdn/${sha256}`, { type: "cut", afterBytes, when });
  return (progress: { downloaded: number }) => {
    if (progress.downloaded >= afterBytes) seen();
  };
}

/** Buffer.equals: vitest's deep equality walks a megabyte element by element. */
const sameBytes = (path: string, bytes: Uint8Array) => readFileSync(path).equals(bytes);

const cdnRequests = (sha256: string) => hub.requests.filter((request) => request.path === `/cdn/${sha256}`);

describe("camelid pull from the Hub", () => {
  it("downloads a GGUF into huggingface_hub's cache layout and records a manifest", async () => {
    const cacheDir = newCache();
    const sha256 = hub.sha256(stories);
    const { manifest, downloaded } = await pullModel("hf:tiny/stories", options(cacheDir, { now: () => new Date("2026-12-07T10:00:00Z") }));
    expect(downloaded).toBe(true);
    const repoFolder = join(cacheDir, "hub", "models--tiny--stories");
    expect(manifest).toMatchObject({
      name: "hf:tiny/stories:stories260K.gguf",
      source: "hub",
      repo: "tiny/stories",
      revision: "main",
      commit: COMMIT,
      file: "stories260K.gguf",
      size: stories.byteLength,
      sha256,
      blob: join(repoFolder, "blobs", sha256),
      path: join(repoFolder, "snapshots", COMMIT, "stories260K.gguf"),
      pulledAt: "2026-12-07T10:00:00.000Z",
    });
    expect(readlinkSync(manifest.path)).toBe(join("..", "..", "blobs", sha256));
    expect(sameBytes(manifest.path, stories)).toBe(true);
    expect(readFileSync(join(repoFolder, "refs", "main"), "utf8")).toBe(COMMIT);
    expect(readdirSync(join(repoFolder, "blobs"))).toEqual([sha256]);
    expect(await new ManifestStore(new CacheLayout(cacheDir).manifestsFolder).list()).toEqual([manifest]);

    const again = await pullModel("hf:tiny/stories", options(cacheDir));
    expect(again.downloaded).toBe(false);
    expect(cdnRequests(sha256)).toHaveLength(1);
  });

  it("picks a file by quantisation, case-insensitively, and names the model by it", async () => {
    const cacheDir = newCache();
    const { manifest } = await pullModel("hf:tiny/quants:q8_0", options(cacheDir));
    expect(manifest).toMatchObject({ name: "hf:tiny/quants:Q8_0", file: "m-Q8_0.gguf", quantization: "Q8_0", sha256: hub.sha256(files["m-Q8_0.gguf"]) });
    const defaulted = await pullModel("hf:tiny/quants", options(cacheDir));
    expect(defaulted.manifest).toMatchObject({ name: "hf:tiny/quants:Q4_K_M", file: "m-Q4_K_M.gguf" });
  });

  it("lists the choices when the quantisation is missing or ambiguous, downloading nothing", async () => {
    const cacheDir = newCache();
    const missing = await pullModel("hf:tiny/quants:Q5_K_M", options(cacheDir)).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(NoMatchingFileError);
    expect((missing as NoMatchingFileError).choices).toEqual(["m-Q4_K_M.gguf", "m-Q8_0.gguf", "m-f16.gguf"]);
    const ambiguous = await pullModel("hf:tiny/twins:Q8_0", options(cacheDir)).catch((error: unknown) => error);
    expect(ambiguous).toBeInstanceOf(AmbiguousFileError);
    expect((ambiguous as Error).message).toContain("a/m-Q8_0.gguf");
    expect((ambiguous as Error).message).toContain("b/m-q8_0.gguf");
    expect(existsSync(join(cacheDir, "hub", "models--tiny--twins", "blobs"))).toBe(false);
  });

  it("continues an interrupted download with Range in the same run", async () => {
    const cacheDir = newCache();
    const bytes = files["big-Q8_0.gguf"];
    const sha256 = hub.sha256(bytes);
    const before = cdnRequests(sha256).length;
    const onProgress = cutDownload(sha256, 50_000);
    const events: PullEvent[] = [];
    const { manifest } = await pullModel("hf:tiny/big", options(cacheDir, { onProgress, onEvent: (event) => events.push(event) }));
    const requests = cdnRequests(sha256).slice(before);
    expect(requests.map((request) => request.range)).toEqual([undefined, "bytes=50000-"]);
    expect(events.some((event) => event.type === "interrupted" && event.at === 50_000)).toBe(true);
    expect(sameBytes(manifest.path, bytes)).toBe(true);
    expect(manifest.sha256).toBe(sha256);
  });

  it("keeps a broken download as .incomplete and the next pull resumes it with Range", async () => {
    const cacheDir = newCache();
    const bytes = files["big-Q8_0.gguf"];
    const sha256 = hub.sha256(bytes);
    const incomplete = join(cacheDir, "hub", "models--tiny--big", "blobs", `${sha256}.incomplete`);
    const onProgress = cutDownload(sha256, 40_000);
    const failure = await pullModel("hf:tiny/big", options(cacheDir, { onProgress, retry: { maxRetries: 0 } })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConnectionError);
    expect((failure as Error).message).toMatch(/broke off at byte 40000.*run pull again/);
    expect(statSync(incomplete).size).toBe(40_000);
    expect(existsSync(join(cacheDir, "manifests"))).toBe(false);

    const before = cdnRequests(sha256).length;
    const events: PullEvent[] = [];
    const { manifest, downloaded } = await pullModel("hf:tiny/big", options(cacheDir, { onEvent: (event) => events.push(event) }));
    expect(downloaded).toBe(true);
    expect(cdnRequests(sha256).slice(before).map((request) => request.range)).toEqual(["bytes=40000-"]);
    expect(events).toContainEqual({ type: "resuming", from: 40_000 });
    expect(sameBytes(manifest.path, bytes)).toBe(true);
    expect(existsSync(incomplete)).toBe(false);
  });

  it("starts over cleanly when the server ignores Range", async () => {
    const cacheDir = newCache();
    const bytes = files["big-Q8_0.gguf"];
    const sha256 = hub.sha256(bytes);
    const onProgress = cutDownload(sha256, 30_000);
    await expect(pullModel("hf:tiny/big", options(cacheDir, { onProgress, retry: { maxRetries: 0 } }))).rejects.toThrow(ConnectionError);
    hub.fault(`/cdn/${sha256}`, { type: "ignore-range" });
    const events: PullEvent[] = [];
    const { manifest } = await pullModel("hf:tiny/big", options(cacheDir, { onEvent: (event) => events.push(event) }));
    expect(events.some((event) => event.type === "restarting" && /ignored Range \(HTTP 200\)/.test(event.reason))).toBe(true);
    expect(sameBytes(manifest.path, bytes)).toBe(true);
  });

  it("deletes a download whose sha256 differs from the Hub's LFS metadata and registers nothing", async () => {
    const cacheDir = newCache();
    const error = await pullModel("hf:tiny/wrong-hash", options(cacheDir)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect(error).toMatchObject({ expected: "0".repeat(64), actual: hub.sha256(files["m-Q8_0.gguf"]) });
    expect(readdirSync(join(cacheDir, "hub", "models--tiny--wrong-hash", "blobs"))).toEqual([]);
    expect(existsSync(join(cacheDir, "manifests"))).toBe(false);
  });

  it("checks the file with camelid's GGUF reader before registering it", async () => {
    const cacheDir = newCache();
    const error = await pullModel("hf:tiny/not-gguf", options(cacheDir)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GgufFormatError);
    expect((error as Error).message).toContain("hf:tiny/not-gguf:Q8_0");
    expect(readdirSync(join(cacheDir, "hub", "models--tiny--not-gguf", "blobs"))).toEqual([]);
    expect(existsSync(join(cacheDir, "manifests"))).toBe(false);
  });

  it("refuses repo info whose file paths would climb out of the cache", async () => {
    const error = await pullModel("hf:tiny/hostile", options(newCache())).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toMatch(/unexpected repo info \(siblings\.0\.rfilename: a file path inside the repo\)/);
  });

  it("refuses a GGUF whose tensor data runs past the end of the file (a URL with no published hash)", async () => {
    const cacheDir = newCache();
    const truncated = files["m-Q8_0.gguf"].subarray(0, files["m-Q8_0.gguf"].byteLength - 100);
    const url = `${hub.endpoint}/cdn/${hub.sha256(truncated)}`;
    const error = await pullModel(url, options(cacheDir)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GgufFormatError);
    expect((error as Error).message).toMatch(/^http:.*\/cdn\/[0-9a-f]{64}: invalid GGUF at byte \d+: tensor "token_embd.weight" data .* lies beyond the end of the file/);
    expect(existsSync(join(cacheDir, "manifests"))).toBe(false);
  });

  it("asks for HF_TOKEN on a gated repo (401), says the token lacks access on 403, and sends it as a Bearer token", async () => {
    const cacheDir = newCache();
    const anonymous = await pullModel("hf:meta/gated", options(cacheDir)).catch((error: unknown) => error);
    expect(anonymous).toBeInstanceOf(HubAccessError);
    expect(anonymous).toMatchObject({ status: 401, tokenSent: false });
    expect((anonymous as Error).message).toMatch(/gated or private: set HF_TOKEN/);

    const wrong = await pullModel("hf:meta/gated", options(cacheDir, { token: "hf_wrong_secret" })).catch((error: unknown) => error);
    expect(wrong).toMatchObject({ status: 403, tokenSent: true });
    expect((wrong as Error).message).not.toContain("hf_wrong_secret");

    const before = hub.requests.length;
    const { manifest } = await pullModel("hf:meta/gated", options(cacheDir, { token: "hf_right_token" }));
    expect(manifest.name).toBe("hf:meta/gated:Q4_K_M");
    const sent = hub.requests.slice(before).filter((request) => !request.path.startsWith("/cdn/"));
    expect(sent.map((request) => request.authorization)).toEqual(["Bearer hf_right_token", "Bearer hf_right_token"]);
  });

  it("names a missing repo (401 anonymously, as the Hub answers, or 404) or revision", async () => {
    const cacheDir = newCache();
    const anonymous = await pullModel("hf:nobody/nothing", options(cacheDir)).catch((error: unknown) => error);
    expect(anonymous).toBeInstanceOf(HubNotFoundError);
    expect(anonymous).toMatchObject({ what: "RepoNotFound", message: "nobody/nothing: repository not found on the Hub (401); if it is private or gated, set HF_TOKEN to a Hugging Face access token" });
    await expect(pullModel("hf:nobody/nothing", options(cacheDir, { token: "hf_x" }))).rejects.toMatchObject({ what: "RepoNotFound", message: "nobody/nothing: repository not found on the Hub (404)" });
    await expect(pullModel("hf:tiny/quants:m-Q2_K.gguf", options(cacheDir))).rejects.toThrow(NoMatchingFileError);
    await expect(pullModel("hf:tiny/quants", options(cacheDir, { revision: "../../escape" }))).rejects.toThrow(/"..\/..\/escape" is not a branch, tag or commit/);
    await expect(pullModel("hf:tiny/quants", options(cacheDir, { revision: "v9" }))).rejects.toMatchObject({ what: "RevisionNotFound" });
  });

  it("waits as long as a 429's retry-after says (with the injected sleep) and then succeeds", async () => {
    const cacheDir = newCache();
    hub.fault("/api/models/tiny/quants/", { type: "status", status: 429, headers: { "retry-after": "7" } });
    hub.fault("/tiny/quants/resolve/", { type: "status", status: 503, headers: { "retry-after": "2" } });
    const { delays, sleep } = recordingSleep();
    const events: PullEvent[] = [];
    const { manifest } = await pullModel("hf:tiny/quants:Q8_0", options(cacheDir, { sleep, onEvent: (event) => events.push(event) }));
    expect(manifest.file).toBe("m-Q8_0.gguf");
    expect(delays).toEqual([7000, 2000]);
    expect(events.filter((event) => event.type === "retry")).toEqual([
      { type: "retry", attempt: 1, delayMs: 7000, reason: "HTTP 429" },
      { type: "retry", attempt: 1, delayMs: 2000, reason: "HTTP 503" },
    ]);
  });

  it("gives a RateLimitError with the retry-after once retries are spent", async () => {
    const cacheDir = newCache();
    for (let index = 0; index < 2; index++) hub.fault("/api/models/tiny/quants/", { type: "status", status: 429, headers: { "retry-after": "3" } });
    const error = await pullModel("hf:tiny/quants", options(cacheDir, { retry: { maxRetries: 1 } })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ retryAfterSeconds: 3 });
  });

  it("lets two concurrent pulls of one file download it once: the second waits for the lock and reuses it", async () => {
    const cacheDir = newCache();
    const bytes = files["m-f16.gguf"];
    const sha256 = hub.sha256(bytes);
    let release!: () => void;
    hub.fault(`/cdn/${sha256}`, { type: "hold", until: new Promise<void>((resolve) => (release = resolve)) });
    const before = cdnRequests(sha256).length;
    const first = pullModel("hf:tiny/quants:F16", options(cacheDir));
    await hub.arrived(`/cdn/${sha256}`, before + 1);
    const lockPath = join(cacheDir, "hub", ".locks", "models--tiny--quants", `${sha256}.lock`);
    expect(readFileSync(lockPath, "utf8")).toBe(`${process.pid}\n`);
    let waiting!: () => void;
    const secondWaits = new Promise<void>((resolve) => (waiting = resolve));
    const second = pullModel("hf:tiny/quants:f16", options(cacheDir, { onEvent: (event) => event.type === "waiting" && waiting() }));
    await secondWaits;
    release();
    const [a, b] = await Promise.all([first, second]);
    expect([a.downloaded, b.downloaded]).toEqual([true, false]);
    expect(b.manifest.path).toBe(a.manifest.path);
    expect(cdnRequests(sha256).length - before).toBe(1);
    expect(sameBytes(a.manifest.path, bytes)).toBe(true);
    expect(existsSync(lockPath)).toBe(false);
  });

  it("takes over a lock left by a pull that died", async () => {
    const cacheDir = newCache();
    const sha256 = hub.sha256(files["m-Q8_0.gguf"]);
    const lockPath = join(cacheDir, "hub", ".locks", "models--tiny--quants", `${sha256}.lock`);
    mkdirSync(dirname(lockPath), { recursive: true });
    writeFileSync(lockPath, "999999999\n");
    const { manifest } = await pullModel("hf:tiny/quants:Q8_0", options(cacheDir));
    expect(manifest.sha256).toBe(sha256);
  });

  it("pulls a plain URL, verifying it against the Hub's X-Linked-Etag when the server sends one", async () => {
    const cacheDir = newCache();
    const url = `${hub.endpoint}/tiny/quants/resolve/main/m-Q8_0.gguf`;
    const events: PullEvent[] = [];
    const { manifest } = await pullModel(url, options(cacheDir, { onEvent: (event) => events.push(event) }));
    expect(manifest).toMatchObject({ name: url, source: "url", file: "m-Q8_0.gguf", quantization: "Q8_0", sha256: hub.sha256(files["m-Q8_0.gguf"]) });
    expect(events).toContainEqual({ type: "verified", sha256: manifest.sha256, against: manifest.sha256 });
    expect(sameBytes(manifest.path, files["m-Q8_0.gguf"])).toBe(true);
  });
});
