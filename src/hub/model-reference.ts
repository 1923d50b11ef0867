// What the user typed after `camelid pull`: a Hub repo (with an optional quantisation or file) or a plain URL.
import { InvalidArgumentError } from "../errors/index.js";

export type ModelReference =
  | { kind: "hub"; repo: string; /** a quantisation name ("Q4_K_M") or a file path ending in .gguf */ selector?: string }
  | { kind: "url"; url: string };

const REPO_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `hf:owner/repo`, `hf:owner/repo:Q4_K_M`, `hf:owner/repo:sub/file.gguf` or `https://…`. */
export function parseModelReference(text: string): ModelReference {
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new InvalidArgumentError("model", `not a valid URL: ${text}`);
    }
    if (url.pathname.endsWith("/")) throw new InvalidArgumentError("model", `the URL must name a file: ${text}`);
    return { kind: "url", url: url.href };
  }
  if (!text.startsWith("hf:")) {
    throw new InvalidArgumentError("model", `expected hf:owner/repo[:quant|file] or an https URL, got "${text}"`);
  }
  const rest = text.slice(3);
  const colon = rest.indexOf(":");
  const repo = colon === -1 ? rest : rest.slice(0, colon);
  const selector = colon === -1 ? undefined : rest.slice(colon + 1);
  if (!REPO_PATTERN.test(repo)) throw new InvalidArgumentError("model", `"${repo}" is not a Hub repo id (owner/name)`);
  if (selector !== undefined && (selector === "" || selector.includes("..") || selector.startsWith("/"))) {
    throw new InvalidArgumentError("model", `"${selector}" is not a quantisation or file name`);
  }
  return { kind: "hub", repo, ...(selector !== undefined ? { selector } : {}) };
}
