import { createHash } from "node:crypto";
import { contentHash } from "../../hashing/content-hash.js";

/**
 * What a run was made from, by content: a resume is keyed on these as much as on its flags, so a
 * prompts file, seed tasks or template edited between two runs with the same --out is noticed
 * instead of silently mixing (or skipping) rows. The eval stages use the same hashes per row
 * (src/eval/run/resume-inputs.ts), since their outputs must stay in FastChat's file formats.
 */

/** The empty chain: the fingerprint of "no items processed yet". */
export const emptyChain = contentHash("");

/**
 * A running fingerprint of the items processed so far, one step per item: it is stored with each
 * commit, so a resume can check that the first `next` items are still the ones done, while items
 * appended to the input (a raised --limit, a longer step-1 list) are simply processed next.
 */
export function chainHash(previous: string, item: unknown): string {
  return createHash("sha256").update(previous).update(contentHash(item)).digest("hex");
}

export function chainOf(items: readonly unknown[]): string {
  return items.reduce<string>((hash, item) => chainHash(hash, item), emptyChain);
}
