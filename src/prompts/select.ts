import { PromptFormatError } from "../errors/index.js";
import type { PromptFormatChoice } from "../spec/prompt.js";
import { CHAT_TEMPLATE_FORMAT_NAME, createChatTemplateFormat } from "./jinja/chat-template.js";
import { findPromptFormat, getPromptFormat, promptFormatNames } from "./registry.js";
import type { PromptFormat } from "./types.js";

/** The format used when nothing else applies: llama.cpp's own default template is ChatML too. */
export const FALLBACK_PROMPT_FORMAT = "chatml";

export interface PromptFormatRequest {
  /** A registry name the caller asked for (or "gguf-jinja" to insist on the model's template). */
  explicit?: string;
  /** The model's tokenizer.chat_template (from GGUF metadata). */
  chatTemplate?: string;
  /** general.name, the file name or a model id: whatever names the model. */
  modelName?: string;
  /** general.architecture (e.g. "llama", "qwen2"). */
  architecture?: string;
  /** Token strings passed to the model's template (its BOS/EOS and special tokens). */
  bosToken?: string;
  eosToken?: string;
  specialTokens?: string[];
  /** Overrides FALLBACK_PROMPT_FORMAT. */
  fallback?: string;
}

export interface ResolvedPromptFormat {
  format: PromptFormat;
  choice: PromptFormatChoice;
}

/**
 * The documented name heuristic, tried in this order on the lower-cased model name (first match wins):
 * Llama 3 instruct names before Llama 2 chat names (so "llama-3" is never read as "llama"), then
 * Vicuna (v0 only when the name says v0), Koala, Alpaca, then ChatML families (Qwen, OpenHermes, Dolphin,
 * SmolLM, "chatml" itself). Bare base-model names ("llama-2-7b") match nothing: they have no chat format.
 */
export const NAME_HEURISTICS: readonly { format: string; pattern: RegExp; what: string }[] = [
  { format: "llama-3", pattern: /llama[-_ ]?3.*(instruct|chat)|(instruct|chat).*llama[-_ ]?3/, what: "Llama 3 instruct" },
  { format: "llama-2-chat", pattern: /llama[-_ ]?2.*chat|chat.*llama[-_ ]?2|codellama.*instruct/, what: "Llama 2 chat" },
  { format: "vicuna-v0", pattern: /vicuna.*v0(?![.\d])/, what: "Vicuna v0" },
  { format: "vicuna-v1.1", pattern: /vicuna/, what: "Vicuna" },
  { format: "koala", pattern: /koala/, what: "Koala" },
  { format: "alpaca", pattern: /alpaca/, what: "Alpaca" },
  { format: "chatml", pattern: /chatml|qwen|hermes|dolphin|smollm.*instruct/, what: "a ChatML-trained family" },
];

/** Architectures whose chat models all use one registry format (for nameless models). */
export const ARCHITECTURE_HEURISTICS: Readonly<Record<string, string>> = {
  qwen: "chatml",
  qwen2: "chatml",
  qwen3: "chatml",
};

/**
 * Picks the prompt format: explicit name > the model's own template > the name heuristic >
 * the architecture heuristic > the fallback. The choice always says where it came from and why.
 * A model template that does not parse is skipped, and the reason says so.
 */
export function resolvePromptFormat(request: PromptFormatRequest = {}): ResolvedPromptFormat {
  const templateSettings = {
    ...(request.bosToken !== undefined ? { bosToken: request.bosToken } : {}),
    ...(request.eosToken !== undefined ? { eosToken: request.eosToken } : {}),
    ...(request.specialTokens !== undefined ? { specialTokens: request.specialTokens } : {}),
  };

  if (request.explicit !== undefined) {
    if (request.explicit === CHAT_TEMPLATE_FORMAT_NAME) {
      if (!request.chatTemplate) {
        throw new PromptFormatError(`prompt format "${CHAT_TEMPLATE_FORMAT_NAME}" was requested but the model has no chat template`);
      }
      return {
        format: createChatTemplateFormat(request.chatTemplate, templateSettings),
        choice: { name: CHAT_TEMPLATE_FORMAT_NAME, source: "explicit", reason: "requested the model's own chat template" },
      };
    }
    if (!findPromptFormat(request.explicit)) {
      throw new PromptFormatError(
        `unknown prompt format "${request.explicit}"; known formats: ${[...promptFormatNames(), CHAT_TEMPLATE_FORMAT_NAME].join(", ")}`,
      );
    }
    return {
      format: getPromptFormat(request.explicit),
      choice: { name: request.explicit, source: "explicit", reason: `prompt format "${request.explicit}" was requested` },
    };
  }

  let templateProblem = "";
  if (request.chatTemplate !== undefined && request.chatTemplate.trim() !== "") {
    try {
      return {
        format: createChatTemplateFormat(request.chatTemplate, templateSettings),
        choice: { name: CHAT_TEMPLATE_FORMAT_NAME, source: "model-template", reason: "the model's tokenizer.chat_template" },
      };
    } catch (error) {
      templateProblem = `the model's chat template was not usable (${error instanceof Error ? error.message : String(error)}); `;
    }
  }

  const name = request.modelName?.toLowerCase() ?? "";
  for (const rule of NAME_HEURISTICS) {
    if (name !== "" && rule.pattern.test(name)) {
      return heuristic(rule.format, `${templateProblem}model name "${request.modelName}" looks like ${rule.what}`);
    }
  }
  const architecture = request.architecture?.toLowerCase();
  if (architecture && ARCHITECTURE_HEURISTICS[architecture]) {
    return heuristic(ARCHITECTURE_HEURISTICS[architecture], `${templateProblem}architecture "${request.architecture}" uses it`);
  }

  const fallback = request.fallback ?? FALLBACK_PROMPT_FORMAT;
  const why = request.chatTemplate === undefined || request.chatTemplate.trim() === "" ? "the model has no chat template" : "";
  const nameNote = request.modelName ? `the name "${request.modelName}" matches no known family` : "no model name was given";
  return heuristic(fallback, `${templateProblem}${[why, nameNote].filter(Boolean).join(" and ")}: fallback format`);
}

function heuristic(formatName: string, reason: string): ResolvedPromptFormat {
  return { format: getPromptFormat(formatName), choice: { name: formatName, source: "heuristic", reason } };
}
