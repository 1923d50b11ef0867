// Which GGUF file of a repo the user meant: by file name, or by quantisation name as Ollama and llama.cpp do.
import { AmbiguousFileError, NoMatchingFileError } from "./errors.js";

/** Ollama's and llama.cpp's default when a repo has several GGUFs and none was named. */
export const DEFAULT_QUANTIZATION = "Q4_K_M";

// Q4_K_M, q8_0, Q4_0_4_4, IQ2_XXS, TQ1_0, F16, BF16, F32: the names llama.cpp's quantize tool writes into file names.
const QUANT_PATTERN = /(?:^|[-._])((?:I?Q|TQ)\d+(?:_[A-Z0-9]+)*|BF16|F16|F32)(?=$|[-._])/gi;

/** The quantisation named in a GGUF file's name, upper-cased, or undefined when it names none. */
export function quantizationOfFile(file: string): string | undefined {
  const base = file.slice(file.lastIndexOf("/") + 1).replace(/\.gguf$/i, "");
  let last: string | undefined;
  for (const match of base.matchAll(QUANT_PATTERN)) last = match[1];
  return last?.toUpperCase();
}

export function isGgufFile(file: string): boolean {
  return /\.gguf$/i.test(file);
}

/** Vision projectors ship next to the language model in many repos; they are never the model itself. */
function isProjector(file: string): boolean {
  return /(^|\/)mmproj[^/]*$/i.test(file);
}

/**
 * The one file `selector` names among `files`: an exact path (or base name) when it ends in .gguf, else the
 * GGUF whose quantisation equals it case-insensitively. No selector: the only GGUF, else the Q4_K_M one.
 * None or several: a typed error listing the choices.
 */
export function chooseGgufFile(repo: string, files: string[], selector?: string): string {
  const ggufs = files.filter(isGgufFile);
  if (selector !== undefined && isGgufFile(selector)) {
    const exact = ggufs.filter((file) => file === selector);
    const byName = exact.length ? exact : ggufs.filter((file) => file.slice(file.lastIndexOf("/") + 1) === selector);
    return single(repo, selector, byName, ggufs);
  }
  const models = ggufs.filter((file) => !isProjector(file));
  if (selector === undefined) {
    if (models.length === 1) return models[0];
    const defaults = models.filter((file) => quantizationOfFile(file) === DEFAULT_QUANTIZATION);
    if (defaults.length === 1) return defaults[0];
    if (models.length === 0) throw new NoMatchingFileError(repo, undefined, ggufs);
    throw new AmbiguousFileError(repo, undefined, models);
  }
  const wanted = selector.toUpperCase();
  return single(repo, selector, models.filter((file) => quantizationOfFile(file) === wanted), ggufs);
}

function single(repo: string, selector: string, matches: string[], choices: string[]): string {
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) throw new NoMatchingFileError(repo, selector, choices);
  throw new AmbiguousFileError(repo, selector, matches);
}
