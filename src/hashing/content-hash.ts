import { createHash } from "node:crypto";

/**
 * Content hashes shared by datagen's run fingerprints (src/datagen/run/input-fingerprint.ts) and the
 * eval stages' per-row input hashes (src/eval/run/resume-inputs.ts): both key a resume on content.
 */

/** SHA-256 of a text, or of a value's JSON. */
export function contentHash(value: unknown): string {
  return createHash("sha256").update(typeof value === "string" ? value : JSON.stringify(value), "utf8").digest("hex");
}

/** A short form for messages. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}
