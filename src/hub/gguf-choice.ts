// Which GGUF file of a repo the user meant: by file name, or by quantisation name as Ollama and llama.cpp do.
import { UnsupportedFeatureError } from "../errors/index.js";
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
    if (defaults.length > 1) refuseSplitModel(repo, defaults);
    throw new AmbiguousFileError(repo, undefined, models);
  }
  const wanted = selector.toUpperCase();
  return single(repo, selector, models.filter((file) => quantizationOfFile(file) === wanted), ggufs);
}

function single(repo: string, selector: string, matches: string[], choices: string[]): string {
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) throw new NoMatchingFileError(repo, selector, choices);
  refuseSplitModel(repo, matches);
  throw new AmbiguousFileError(repo, selector, matches);
}

const SPLIT_PART = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

/** llama.cpp's gguf-split parts (model-00001-of-00003.gguf) are one model in several files: not pulled yet. */
function refuseSplitModel(repo: string, matches: string[]): void {
  const parts = matches.map((file) => SPLIT_PART.exec(file));
  if (parts.some((part) => part === null) || new Set(parts.map((part) => part![1])).size !== 1) return;
  throw new UnsupportedFeatureError(
    `${repo}: ${matches[0].replace(SPLIT_PART, "$1")} is split into ${Number(parts[0]![3])} files (gguf-split); camelid pull takes single-file GGUFs only for now — download the parts into one folder and pass the first as --model`,
  );
}
