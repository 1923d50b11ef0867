/**
 * A Hugging Face Hub on loopback, speaking the endpoints camelid's pull uses in the Hub's own shapes:
 *   GET /api/models/{owner}/{repo}/revision/{rev}?blobs=true  → { id, sha, siblings: [{ rfilename, size, blobId, lfs }] }
 *   GET /{owner}/{repo}/resolve/{rev}/{file}                  → 302 to /cdn/{sha256} with X-Repo-Commit,
 *                                                                X-Linked-Etag, X-Linked-Size (as for LFS files)
 *   GET /cdn/{sha256}                                         → the bytes; Range gives 206 + Content-Range
 * Errors carry X-Error-Code (RepoNotFound, GatedRepo, EntryNotFound, RevisionNotFound) as the Hub's do.
 * Faults are scripted per request: a status (429 + retry-after), a body cut after N bytes, Range ignored,
 * a body held until the test releases it.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface FakeRepo {
  commit: string;
  files: Record<string, Uint8Array>;
  /** Only this token may read it: 401 without a token, 403 with another. */
  gatedToken?: string;
  /** Publish a wrong LFS sha256 for these files. */
  wrongSha256?: string[];
}

export type Fault =
  | { type: "status"; status: number; headers?: Record<string, string>; body?: string }
  /** Sends `afterBytes` of the body, waits for `when` (the client saw them), then drops the connection. */
  | { type: "cut"; afterBytes: number; when?: Promise<void> }
  /** Sends `afterBytes` of the body and then nothing, keeping the connection open (a pull to be killed). */
  | { type: "stall"; afterBytes: number }
  | { type: "ignore-range" }
  | { type: "hold"; until: Promise<void> };

export interface HubRequest {
  path: string;
  range?: string;
  authorization?: string;
}

export interface FakeHub {
  endpoint: string;
  requests: HubRequest[];
  /** Applies `fault` to the next request whose path starts with `pathPrefix` ("/api/", "/cdn/", "/owner/repo/resolve/"). */
  fault(pathPrefix: string, fault: Fault): void;
  /** Resolves when a request with this path prefix has arrived (counting ones already seen). */
  arrived(pathPrefix: string, count?: number): Promise<void>;
  sha256(bytes: Uint8Array): string;
  close(): Promise<void>;
}

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const requests: HubRequest[] = [];
  const faults: { prefix: string; fault: Fault }[] = [];
  const waiters: { prefix: string; count: number; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();
  const blobs = new Map<string, Uint8Array>();
  const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
  for (const repo of Object.values(repos)) for (const bytes of Object.values(repo.files)) blobs.set(sha256(bytes), bytes);

  const seen = (prefix: string) => requests.filter((request) => request.path.startsWith(prefix)).length;
  const takeFault = (path: string): Fault | undefined => {
    const index = faults.findIndex((entry) => path.startsWith(entry.prefix));
    return index === -1 ? undefined : faults.splice(index, 1)[0].fault;
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const path = decodeURIComponent(url.pathname);
    requests.push({
      path,
      ...(request.headers.range ? { range: request.headers.range } : {}),
      ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
    });
    for (const waiter of waiters.filter((entry) => seen(entry.prefix) >= entry.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    void handle(request, response, url, path, takeFault(path));
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const hubError = (response: ServerResponse, status: number, code: string, message: string) => {
    response.writeHead(status, { "content-type": "application/json", "x-error-code": code, "x-error-message": message });
    response.end(JSON.stringify({ error: message }));
  };

  /** The Hub's access check: gated repos want the right Bearer token. */
  const refused = (request: IncomingMessage, response: ServerResponse, repo: FakeRepo): boolean => {
    if (repo.gatedToken === undefined) return false;
    const token = request.headers.authorization?.replace(/^Bearer /, "");
    if (token === repo.gatedToken) return false;
    if (token === undefined) hubError(response, 401, "GatedRepo", "Access to this model is restricted. You must be authenticated to access it.");
    else hubError(response, 403, "GatedRepo", "Access to this model is restricted and you are not in the authorized list.");
    return true;
  };

  async function handle(request: IncomingMessage, response: ServerResponse, url: URL, path: string, fault: Fault | undefined) {
    if (fault?.type === "status") {
      response.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
      response.end(fault.body ?? JSON.stringify({ error: `scripted ${fault.status}` }));
      return;
    }
    if (fault?.type === "hold") await fault.until;
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    if (api) {
      const repo = repos[api[1]];
      // As the real Hub: anonymous callers get 401 for a repo they cannot see, whether private or missing.
      if (!repo) return hubError(response, request.headers.authorization ? 404 : 401, "RepoNotFound", `Repository not found: ${api[1]}`);
      if (refused(request, response, repo)) return;
      if (api[2] !== "main" && api[2] !== repo.commit) return hubError(response, 404, "RevisionNotFound", `Invalid rev id: ${api[2]}`);
      const withBlobs = url.searchParams.get("blobs") === "true";
      const siblings = Object.entries(repo.files).map(([rfilename, bytes]) => ({
        rfilename,
        ...(withBlobs
          ? {
              size: bytes.byteLength,
              blobId: createHash("sha1").update(bytes).digest("hex"),
              lfs: { sha256: repo.wrongSha256?.includes(rfilename) ? "0".repeat(64) : sha256(bytes), size: bytes.byteLength, pointerSize: 134 },
            }
          : {}),
      }));
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ _id: "x", id: api[1], modelId: api[1], sha: repo.commit, private: false, gated: repo.gatedToken ? "manual" : false, siblings }));
      return;
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve) {
      const repo = repos[resolve[1]];
      if (!repo) return hubError(response, 404, "RepoNotFound", `Repository not found: ${resolve[1]}`);
      if (refused(request, response, repo)) return;
      const bytes = repo.files[resolve[3]];
      if (!bytes) return hubError(response, 404, "EntryNotFound", `${resolve[3]} does not exist on "${resolve[2]}"`);
      response.writeHead(302, {
        location: `/cdn/${sha256(bytes)}`,
        "x-repo-commit": repo.commit,
        "x-linked-etag": `"${sha256(bytes)}"`,
        "x-linked-size": String(bytes.byteLength),
        etag: `"${createHash("sha1").update(bytes).digest("hex")}"`,
      });
      response.end();
      return;
    }
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    const bytes = cdn ? blobs.get(cdn[1]) : undefined;
    if (!bytes) return hubError(response, 404, "EntryNotFound", "no such blob");
    const range = fault?.type === "ignore-range" ? null : /^bytes=(\d+)-$/.exec(request.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    if (start >= bytes.byteLength && range) {
      response.writeHead(416, { "content-range": `bytes */${bytes.byteLength}` });
      response.end();
      return;
    }
    const body = bytes.subarray(start);
    response.writeHead(range ? 206 : 200, {
      "content-type": "application/octet-stream",
      "content-length": String(body.byteLength),
      "accept-ranges": "bytes",
      ...(range ? { "content-range": `bytes ${start}-${bytes.byteLength - 1}/${bytes.byteLength}` } : {}),
    });
    if (fault?.type === "stall") {
      response.write(body.subarray(0, fault.afterBytes));
      return;
    }
    if (fault?.type === "cut") {
      // Half a body, then the connection dies: what a dropped network looks like to the client.
      response.write(body.subarray(0, fault.afterBytes));
      await fault.when;
      response.socket?.destroy();
      return;
    }
    response.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    fault: (prefix, fault) => void faults.push({ prefix, fault }),
    arrived: (prefix, count = 1) =>
      new Promise<void>((resolve) => {
        if (seen(prefix) >= count) resolve();
        else waiters.push({ prefix, count, resolve });
      }),
    sha256,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
