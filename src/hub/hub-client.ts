// The Hugging Face Hub's HTTP surface camelid uses, with the Hub's own shapes (huggingface_hub's
// hf_api.model_info and file_download.hf_hub_download): one request path with retries and one error mapping.
import { z } from "zod";
import { AbortError, ConnectionError, RateLimitError, UpstreamError } from "../errors/index.js";
import {
  backoffDelayMs,
  defaultRetryPolicy,
  type RetryPolicy,
  retryAfterMs,
} from "../retry/retry-policy.js";
import { sleep as realSleep, type Sleep } from "../retry/sleep.js";
import { HubAccessError, HubNotFoundError } from "./errors.js";

export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;
export type SleepFunction = Sleep;

export interface HubClientSettings {
  /** `HF_ENDPOINT` in huggingface_hub; a mirror or a test server. */
  endpoint?: string;
  /** Sent as `Authorization: Bearer` to the endpoint's origin only; never written anywhere. */
  token?: string;
  fetch?: FetchFunction;
  /** Injectable so tests never wait for real. */
  sleep?: SleepFunction;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  /** Told before each retry (429, 5xx, a dropped connection) and how long it waits. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

const lfsSchema = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().nonnegative() }).passthrough();

/** GET /api/models/{repo}/revision/{revision}?blobs=true (what model_info(files_metadata=True) asks for). */
const repoInfoSchema = z
  .object({
    id: z.string().optional(),
    // Both become parts of cache paths, so nothing that could climb out of the cache gets through.
    sha: z.string().regex(/^[0-9a-f]{40,64}$/, "expected a commit hash"),
    siblings: z.array(
      z
        .object({
          rfilename: z
            .string()
            .min(1)
            .refine((path) => !path.startsWith("/") && !path.split(/[\\/]/).includes(".."), "a file path inside the repo"),
          size: z.number().int().nonnegative().optional(),
          blobId: z.string().optional(),
          lfs: lfsSchema.optional(),
        })
        .passthrough(),
    ),
  })
  .passthrough();

export interface RepoFile {
  path: string;
  size?: number;
  /** The LFS object's sha256: what the downloaded bytes must hash to. */
  sha256?: string;
  /** The git blob id, for files not stored in LFS. */
  blobId?: string;
}

export interface RepoSnapshot {
  repo: string;
  /** The commit the revision resolved to (X-Repo-Commit), so every file comes from one snapshot. */
  commit: string;
  files: RepoFile[];
}

/** What the Hub says about a file on any hop of the way (its 302 to the CDN carries it). */
export interface LinkedMetadata {
  /** An LFS file's sha256, from X-Linked-Etag. */
  sha256?: string;
  size?: number;
  commit?: string;
}

export interface HubResponse {
  response: Response;
  /** The URL that answered, after redirects. */
  url: string;
  tokenSent: boolean;
  linked: LinkedMetadata;
}

function collectLinked(headers: Headers, linked: LinkedMetadata): void {
  const etag = headers.get("x-linked-etag")?.replace(/^W\//, "").replace(/"/g, "");
  if (etag && /^[0-9a-f]{64}$/.test(etag)) linked.sha256 ??= etag;
  const size = headers.get("x-linked-size");
  if (size && /^\d+$/.test(size.trim())) linked.size ??= Number(size);
  linked.commit ??= headers.get("x-repo-commit") ?? undefined;
}

export class HubClient {
  readonly endpoint: string;
  private readonly fetchFunction: FetchFunction;
  private readonly sleep: SleepFunction;
  private readonly retry: RetryPolicy;

  constructor(private readonly settings: HubClientSettings = {}) {
    this.endpoint = (settings.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, "");
    this.fetchFunction = settings.fetch ?? ((input, init) => fetch(input, init));
    this.sleep = settings.sleep ?? realSleep;
    this.retry = { ...defaultRetryPolicy, maxRetries: 5, ...settings.retry };
  }

  get signal(): AbortSignal | undefined {
    return this.settings.signal;
  }

  get retryPolicy(): RetryPolicy {
    return this.retry;
  }

  async repoSnapshot(repo: string, revision = "main"): Promise<RepoSnapshot> {
    const url = `${this.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
    const { response } = await this.request(url, { repo });
    const text = await this.readText(response, url);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new UpstreamError(`${url} returned a body that is not JSON: ${text.slice(0, 200)}`, response.status, text);
    }
    const parsed = repoInfoSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UpstreamError(`${url}: unexpected repo info (${issue.path.join(".") || "body"}: ${issue.message})`, response.status, json);
    }
    return {
      repo,
      commit: parsed.data.sha,
      files: parsed.data.siblings.map((sibling) => ({
        path: sibling.rfilename,
        size: sibling.lfs?.size ?? sibling.size,
        ...(sibling.lfs ? { sha256: sibling.lfs.sha256 } : {}),
        ...(sibling.blobId ? { blobId: sibling.blobId } : {}),
      })),
    };
  }

  /** /{repo}/resolve/{commit}/{file}: the Hub answers with the bytes or a redirect to its CDN (fetch follows it). */
  resolveUrl(repo: string, commit: string, file: string): string {
    return `${this.endpoint}/${repo}/resolve/${encodeURIComponent(commit)}/${file.split("/").map(encodeURIComponent).join("/")}`;
  }

  /**
   * GET with the token (own origin only), retrying 429/5xx (honouring retry-after) and connection failures
   * with backoff; a success comes back with its body unread. Errors are typed: see `errorFor`.
   */
  async request(url: string, context: { repo?: string; headers?: Record<string, string> } = {}): Promise<HubResponse> {
    for (let attempt = 0; ; attempt++) {
      let hop: HubResponse;
      try {
        hop = await this.followRedirects(url, context.headers ?? {});
      } catch (failure) {
        if (this.settings.signal?.aborted) throw new AbortError();
        const error = new ConnectionError(`GET ${url} failed: ${describeFailure(failure)}`, { cause: failure });
        if (attempt >= this.retry.maxRetries) throw error;
        await this.wait(attempt, backoffDelayMs(attempt, this.retry), error.message);
        continue;
      }
      const { response } = hop;
      if (response.ok || response.status === 416) return hop;
      const requestedWait = retryAfterMs(response.headers);
      const retryable = response.status === 429 || response.status >= 500;
      const waitAcceptable = requestedWait === undefined || requestedWait <= this.retry.maxRetryAfterMs;
      if (retryable && waitAcceptable && attempt < this.retry.maxRetries) {
        await response.body?.cancel().catch(() => undefined);
        await this.wait(attempt, requestedWait ?? backoffDelayMs(attempt, this.retry), `HTTP ${response.status}`);
        continue;
      }
      throw await this.errorFor(response, hop.url, context.repo, hop.tokenSent);
    }
  }

  /**
   * Redirects are followed here rather than by fetch, as huggingface_hub does: the Hub puts X-Linked-Etag,
   * X-Linked-Size and X-Repo-Commit on its 302 to the CDN, and the token must not follow to another origin.
   */
  private async followRedirects(url: string, headers: Record<string, string>): Promise<HubResponse> {
    const linked: LinkedMetadata = {};
    let current = url;
    let tokenSent = false;
    for (let hops = 0; ; hops++) {
      const sendToken = this.settings.token !== undefined && new URL(current).origin === new URL(this.endpoint).origin;
      tokenSent ||= sendToken;
      const response = await this.fetchFunction(current, {
        headers: sendToken ? { ...headers, authorization: `Bearer ${this.settings.token}` } : headers,
        signal: this.settings.signal,
        redirect: "manual",
      });
      collectLinked(response.headers, linked);
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || location === null || hops >= 10) {
        return { response, url: current, tokenSent, linked };
      }
      await response.body?.cancel().catch(() => undefined);
      current = new URL(location, current).href;
    }
  }

  /** Waits `delayMs` (the server's retry-after or our backoff) with the injected sleep. */
  async wait(attempt: number, delayMs: number, reason: string): Promise<void> {
    this.settings.onRetry?.({ attempt: attempt + 1, delayMs, reason });
    await this.sleep(delayMs, this.settings.signal);
  }

  private async readText(response: Response, url: string): Promise<string> {
    try {
      return await response.text();
    } catch (failure) {
      throw new ConnectionError(`reading ${url} failed: ${describeFailure(failure)}`, { cause: failure });
    }
  }

  /** The Hub names its failures in X-Error-Code (RepoNotFound, GatedRepo, EntryNotFound, RevisionNotFound). */
  private async errorFor(response: Response, url: string, repo: string | undefined, tokenSent: boolean): Promise<Error> {
    const text = await response.text().catch(() => "");
    const errorCode = response.headers.get("x-error-code") ?? undefined;
    const serverMessage = response.headers.get("x-error-message") ?? messageOf(text) ?? response.statusText;
    const where = repo ?? url;
    // The Hub answers an anonymous request for a private or missing repo with 401 RepoNotFound.
    if (errorCode === "RepoNotFound" && (response.status === 401 || response.status === 404)) {
      const hint = tokenSent ? "" : "; if it is private or gated, set HF_TOKEN to a Hugging Face access token";
      return new HubNotFoundError(url, errorCode, `${where}: repository not found on the Hub (${response.status})${hint}`);
    }
    if (response.status === 401 || response.status === 403) {
      return new HubAccessError(where, response.status, tokenSent, errorCode ? `${errorCode}: ${serverMessage}` : serverMessage);
    }
    if (response.status === 404) {
      return new HubNotFoundError(url, errorCode ?? "NotFound", `${where}: not found on the Hub (${errorCode ? `${errorCode}: ` : ""}${serverMessage}) at ${url}`);
    }
    if (response.status === 429) {
      const waitMs = retryAfterMs(response.headers);
      return new RateLimitError(`${where}: the Hub is rate limiting (429: ${serverMessage})`, waitMs === undefined ? undefined : waitMs / 1000);
    }
    return new UpstreamError(`${where}: the Hub answered ${response.status}: ${serverMessage}`, response.status, text);
  }
}

function messageOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === "object" && "error" in body && typeof body.error === "string") return body.error;
  } catch {
    /* not JSON: fall through to the raw text */
  }
  return text.trim() ? text.trim().slice(0, 200) : undefined;
}

export function describeFailure(failure: unknown): string {
  if (failure instanceof Error) {
    const cause = failure.cause instanceof Error ? `: ${failure.cause.message}` : "";
    return `${failure.message}${cause}`;
  }
  return String(failure);
}
