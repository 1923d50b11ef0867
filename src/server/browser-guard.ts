// Defences for a server that a browser on the same machine can reach (the default loopback setup):
// a hostile web page can make the browser send requests to 127.0.0.1, either directly (cross-origin
// "simple" requests need no CORS preflight) or through DNS rebinding (its own hostname resolving to
// 127.0.0.1, so the page counts as same-origin and reads the answers).
import { isIP } from "node:net";
import { PermissionDeniedError } from "../errors/index.js";

export interface BrowserGuardOptions {
  /** Host names (besides IP addresses and localhost) clients may use; "*" allows any. */
  allowedHosts?: string[];
  /** Origins allowed by CORS; "*" allows any. */
  corsOrigins?: string[];
}

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Checks one request: its Host must be an IP address, localhost or an allowed name (a rebound DNS
 * name is none of these), and a state-changing request from a browser must come from this server's
 * own origin or a CORS-allowed one. Requests without Origin/Sec-Fetch-Site (curl, SDKs) pass.
 */
export class BrowserGuard {
  private readonly hosts: Set<string>;
  private readonly anyHost: boolean;
  private readonly origins: Set<string>;
  private readonly anyOrigin: boolean;

  constructor(options: BrowserGuardOptions = {}) {
    const hosts = (options.allowedHosts ?? []).map((host) => host.toLowerCase());
    this.anyHost = hosts.includes("*");
    this.hosts = new Set(hosts);
    const origins = options.corsOrigins ?? [];
    this.anyOrigin = origins.includes("*");
    this.origins = new Set(origins.map((origin) => origin.toLowerCase().replace(/\/$/, "")));
  }

  check(request: Request): void {
    const url = new URL(request.url);
    this.checkHost(url.hostname.toLowerCase());
    if (!safeMethods.has(request.method)) this.checkOrigin(request.headers, url);
  }

  private checkHost(hostname: string): void {
    if (this.anyHost) return;
    const bare = hostname.replace(/^\[|\]$/g, "");
    if (isIP(bare) !== 0 || bare === "localhost" || bare.endsWith(".localhost") || this.hosts.has(bare)) return;
    throw new PermissionDeniedError(
      `the Host "${hostname}" is not allowed (DNS rebinding protection); start the server with --allowed-host ${hostname} to use this name`,
    );
  }

  private checkOrigin(headers: Headers, url: URL): void {
    if (this.anyOrigin) return;
    const origin = headers.get("origin");
    if (origin !== null) {
      const normalized = origin.toLowerCase();
      if (this.origins.has(normalized)) return;
      if (normalized !== "null" && sameOrigin(normalized, url)) return;
      throw new PermissionDeniedError(`cross-origin request from ${origin} refused; allow the origin with --cors ${origin}`);
    }
    // No Origin: a browser that sends Sec-Fetch-Site still says where the request came from.
    const site = headers.get("sec-fetch-site");
    if (site === "cross-site" || site === "same-site") throw new PermissionDeniedError(`cross-origin request (${site}) refused; allow its origin with --cors`);
  }
}

function sameOrigin(origin: string, url: URL): boolean {
  try {
    return new URL(origin).host === url.host.toLowerCase();
  } catch {
    return false;
  }
}
