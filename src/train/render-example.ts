import { renderAlpacaExample, type PromptFormat, type RenderedFormat } from "../prompts/index.js";
import type { TrainingExample } from "./dataset.js";

export interface SpecialTokenTexts {
  bosToken?: string;
  eosToken?: string;
}

/**
 * The full conversation in the chosen prompt format, assistant replies included and no generation
 * prompt at the end. An Alpaca record with the "alpaca" format uses Stanford's template verbatim.
 */
export function renderTrainingExample(example: TrainingExample, format: PromptFormat, tokens: SpecialTokenTexts): RenderedFormat {
  const options = {
    addGenerationPrompt: false,
    ...(tokens.bosToken !== undefined ? { bosToken: tokens.bosToken } : {}),
    ...(tokens.eosToken !== undefined ? { eosToken: tokens.eosToken } : {}),
  };
  if (format.name === "alpaca" && example.alpaca) return renderAlpacaExample(example.alpaca, options);
  const rendered = format.render(example.messages, options);
  return example.untrained?.length ? withoutLoss(rendered, new Set(example.untrained)) : rendered;
}

/** The segments of the given messages (a reply and its end-of-turn marker) made untrainable: `"weight": 0`. */
function withoutLoss(rendered: RenderedFormat, untrained: ReadonlySet<number>): RenderedFormat {
  return {
    ...rendered,
    segments: rendered.segments.map((segment) => (segment.trainable && segment.messageIndex !== undefined && untrained.has(segment.messageIndex) ? { ...segment, trainable: false } : segment)),
  };
}
