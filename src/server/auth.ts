import { createHash, timingSafeEqual } from "node:crypto";
import { AuthenticationError } from "../errors/index.js";

/** A configured key, reduced to its SHA-256 so the plaintext never stays in memory or reaches a log. */
export interface ApiKeyRecord {
  /** Shown in the request log and used for fair queueing instead of the key itself. */
  name: string;
  sha256: string;
  revoked: boolean;
  /** Sees every key's conversations, request-log rows and battles (`--admin-key-env`). */
  admin?: boolean;
}

export interface VerifiedKey {
  name: string;
  admin: boolean;
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** The key a client presented: `Authorization: Bearer <key>` (OpenAI SDKs) or `x-api-key`. */
export function presentedKey(headers: { get(name: string): string | null | undefined }): string | undefined {
  const authorization = headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return match ? match[1].trim() : undefined;
  }
  return headers.get("x-api-key")?.trim() || undefined;
}

/** Checks presented keys against the configured hashes; with no keys configured, everyone is let in. */
export class ApiKeyVerifier {
  private readonly active: { name: string; admin: boolean; digest: Buffer }[];
  private readonly revoked: Set<string>;

  constructor(keys: ApiKeyRecord[]) {
    this.active = keys.filter((key) => !key.revoked).map((key) => ({ name: key.name, admin: key.admin === true, digest: Buffer.from(key.sha256, "hex") }));
    this.revoked = new Set(keys.filter((key) => key.revoked).map((key) => key.sha256));
  }

  get enabled(): boolean {
    return this.active.length > 0 || this.revoked.size > 0;
  }

  /** The key's name and role, or an AuthenticationError that never echoes the key. */
  verify(key: string | undefined): VerifiedKey {
    if (!key) throw new AuthenticationError("missing API key: send it as 'Authorization: Bearer <key>'");
    const digest = Buffer.from(hashApiKey(key), "hex");
    // Compare against every key (no early exit) in constant time per comparison.
    let found: VerifiedKey | undefined;
    for (const candidate of this.active) {
      if (timingSafeEqual(candidate.digest, digest)) found ??= { name: candidate.name, admin: candidate.admin };
    }
    if (found) return found;
    if (this.revoked.has(digest.toString("hex"))) throw new AuthenticationError("this API key has been revoked");
    throw new AuthenticationError("invalid API key");
  }
}
