// Whether a prompt format can be written in a model's vocabulary: every piece of markup a format marks
// as special (ChatML's <|im_start|>, Llama 3's <|eot_id|>, BOS/EOS) must be ONE token of it, or the
// model sees "<", "|", "im", … instead of the turn structure it was (or will be) trained on. `train`
// and the local provider (`serve`, `generate`, `chat`) choose a model's format through this one
// function, so they always agree, and both name the formats that would work.
import { PromptFormatError } from "../errors/index.js";
import { CANONICAL_EXCHANGE } from "./detect.js";
import { promptFormats } from "./registry.js";
import { resolvePromptFormat, type PromptFormatRequest, type ResolvedPromptFormat } from "./select.js";
import type { PromptFormat, RenderOptions } from "./types.js";

/** How many token ids `text` gives in the model's vocabulary with special-token parsing on. */
export type SpecialTokenCounter = (text: string) => number;

export interface PromptFormatFit extends ResolvedPromptFormat {
  /** The chosen format's special texts that are not one token of the vocabulary (empty: it fits). */
  missingSpecials: string[];
  /** Registry formats whose special texts are all single tokens of this vocabulary. */
  fittingFormats: string[];
}

type MarkupOptions = Omit<RenderOptions, "addGenerationPrompt">;

/** The distinct special texts `format` writes for a short exchange and a generation prompt. */
export function specialTextsOf(format: PromptFormat, options: MarkupOptions = {}): string[] {
  const rendered = format.render([...CANONICAL_EXCHANGE, { role: "user", content: "Again?" }], { ...options, addGenerationPrompt: true });
  return [...new Set(rendered.segments.filter((segment) => segment.special).map((segment) => segment.text))];
}

/** `format`'s special texts that are not single tokens; a format that cannot render counts as not fitting. */
export function missingSpecialTokens(format: PromptFormat, count: SpecialTokenCounter, options: MarkupOptions = {}): string[] {
  try {
    return specialTextsOf(format, options).filter((text) => count(text) !== 1);
  } catch (error) {
    return [`(cannot render: ${error instanceof Error ? error.message : String(error)})`];
  }
}

/** The format a model gets (explicit > its template > name > architecture > fallback) and whether its vocabulary can write it. */
export function fitPromptFormat(request: PromptFormatRequest, count: SpecialTokenCounter): PromptFormatFit {
  const resolved = resolvePromptFormat(request);
  const markup: MarkupOptions = {
    ...(request.bosToken !== undefined ? { bosToken: request.bosToken } : {}),
    ...(request.eosToken !== undefined ? { eosToken: request.eosToken } : {}),
  };
  const missingSpecials = missingSpecialTokens(resolved.format, count, markup);
  const fittingFormats = promptFormats.filter((format) => missingSpecialTokens(format, count, markup).length === 0).map((format) => format.name);
  return { ...resolved, missingSpecials, fittingFormats };
}

/** Why the chosen format does not fit, naming the flag and the formats that would; undefined when it fits. */
export function describeFormatMisfit(fit: PromptFormatFit, modelPath?: string): string | undefined {
  if (fit.missingSpecials.length === 0) return undefined;
  const how = fit.choice.source === "explicit" ? "was requested" : `was chosen (${fit.choice.reason})`;
  const alternatives = fit.fittingFormats.length > 0 ? `formats this vocabulary can write: ${fit.fittingFormats.join(", ")}` : "no registry format fits this vocabulary";
  return (
    `prompt format "${fit.choice.name}" ${how}, but this model's vocabulary has no single token for ${fit.missingSpecials.map((text) => JSON.stringify(text)).join(", ")}; ` +
    `choose one with --prompt-format (train; --format for generate and chat, "promptFormat" in serve's config): ${alternatives}; ` +
    `\`camelid formats detect${modelPath ? ` --model ${modelPath}` : ""}\` ranks them by how likely the model finds each`
  );
}

/** fitPromptFormat, throwing a PromptFormatError (with describeFormatMisfit's message) when the format does not fit. */
export function requireFittingPromptFormat(request: PromptFormatRequest, count: SpecialTokenCounter, modelPath?: string): PromptFormatFit {
  const fit = fitPromptFormat(request, count);
  const misfit = describeFormatMisfit(fit, modelPath);
  if (misfit) throw new PromptFormatError(misfit);
  return fit;
}
