// @ts-check
// Generation settings (shared by Chat, Arena, Battle and Collaboration), as a labelled form.
import { h } from "./dom.js";

/** @typedef {import("../../src/server/openai/request-schemas.js").SamplingOptions} SamplingOptions */
/**
 * The form's fields: the server's sampling options (snake_case, as a request sends them) plus the
 * playground's system prompt; a field left empty is undefined.
 * @typedef {Partial<Pick<SamplingOptions, "temperature" | "top_p" | "top_k" | "max_tokens" | "seed" | "prompt_format">> & { stop?: string[], system_prompt?: string }} SettingsValues
 */
/**
 * How Chat trims the history before a request (applied here, in the browser).
 * @typedef {{ type: "keep-all" } | { type: "last-turns", turns: number } | { type: "token-budget", maxPromptTokens: number }} WindowStrategy
 */
/**
 * Settings as a conversation stores them: the form's values and its window strategy.
 * @typedef {Omit<SettingsValues, "system_prompt"> & { system_prompt?: string | null, window?: { type: WindowStrategy["type"], turns?: number, maxPromptTokens?: number } }} StoredSettings
 */
/** @typedef {{ label: string, min?: number, max?: number, above?: number, integer?: boolean }} NumberRule */

let formCount = 0;

/**
 * What the server accepts for each number field (its shared sampling rules), checked before a request
 * is sent or the settings are saved: `above` is an exclusive minimum.
 * @type {Record<string, NumberRule>}
 */
const numberRules = {
  temperature: { label: "Temperature", min: 0, max: 2 },
  "top-p": { label: "Top-p", above: 0, max: 1 },
  "top-k": { label: "Top-k", min: 0, integer: true },
  "max-tokens": { label: "Max tokens", min: 1, integer: true },
  seed: { label: "Seed", min: 0, max: 0xffffffff, integer: true },
  "window-size": { label: "Conversation window size", min: 1, integer: true },
};

/**
 * Why `input` breaks `rule`, or null when it is empty or fine.
 * @param {HTMLInputElement | HTMLTextAreaElement} input
 * @param {NumberRule} rule
 */
function numberProblem(input, rule) {
  if (input.validity.badInput) return `${rule.label} must be a number`;
  if (input.value.trim() === "") return null;
  const value = Number(input.value);
  if (!Number.isFinite(value)) return `${rule.label} must be a number`;
  if (rule.integer && !Number.isInteger(value)) return `${rule.label} must be a whole number`;
  if (rule.above !== undefined && !(value > rule.above)) return `${rule.label} must be greater than ${rule.above}`;
  if (rule.min !== undefined && value < rule.min) return `${rule.label} must be at least ${rule.min}`;
  if (rule.max !== undefined && value > rule.max) return `${rule.label} must be at most ${rule.max}`;
  return null;
}

/** @param {string} id @param {string} label @param {import("./dom.js").Attributes} attributes */
const numberField = (id, label, attributes) =>
  h("label", { for: id }, label, h("input", { id, type: "number", inputmode: "decimal", ...attributes }));

/**
 * @param {{ window?: boolean, promptFormat?: boolean, systemPrompt?: boolean }} options
 * @returns {{ element: HTMLDetailsElement, values(): SettingsValues, validate(): string | null, load(settings?: StoredSettings): void, windowStrategy(): WindowStrategy }}
 */
export function createSettingsForm(options = {}) {
  const prefix = `settings-${++formCount}`;
  /** @param {string} name */
  const id = (name) => `${prefix}-${name}`;
  const system = h("textarea", { id: id("system"), rows: 2, placeholder: "e.g. You are a helpful assistant." });
  const windowType = h(
    "select",
    { id: id("window") },
    h("option", { value: "keep-all" }, "keep all messages"),
    h("option", { value: "last-turns" }, "last N turns"),
    h("option", { value: "token-budget" }, "token budget"),
  );
  const windowSize = h("input", { id: id("window-size"), type: "number", min: 1, value: 4, "aria-label": "turns or tokens for the window strategy" });

  const element = h(
    "details",
    { class: "settings" },
    h("summary", {}, "Settings"),
    h(
      "div",
      { class: "settings-grid" },
      options.systemPrompt === false ? null : h("label", { for: id("system"), class: "wide" }, "System prompt", system),
      numberField(id("temperature"), "Temperature", { min: 0, max: 2, step: 0.1, value: 0.7 }),
      numberField(id("top-p"), "Top-p", { min: 0, max: 1, step: 0.05, value: 0.95 }),
      numberField(id("top-k"), "Top-k", { min: 0, step: 1, value: 40 }),
      numberField(id("max-tokens"), "Max tokens", { min: 1, step: 1, value: 256 }),
      numberField(id("seed"), "Seed", { min: 0, step: 1, placeholder: "random" }),
      h("label", { for: id("stop") }, "Stop (one per line)", h("textarea", { id: id("stop"), rows: 1 })),
      options.promptFormat === false
        ? null
        : h("label", { for: id("format") }, "Prompt format", h("input", { id: id("format"), type: "text", placeholder: "auto (model's own)" })),
      options.window === false ? null : h("label", { for: id("window"), class: "window" }, "Conversation window", h("span", { class: "inline" }, windowType, windowSize)),
    ),
  );

  /**
   * Every field is an <input> or a <textarea> (both have `value`).
   * @param {string} name
   */
  const field = (name) => /** @type {HTMLInputElement | HTMLTextAreaElement | null} */ (element.querySelector(`#${id(name)}`));
  /** @param {string} name */
  const number = (name) => {
    const input = field(name);
    if (!input || input.value.trim() === "") return undefined;
    const value = Number(input.value);
    return Number.isFinite(value) ? value : undefined;
  };

  return {
    element,
    /** OpenAI request fields (snake_case) plus system_prompt. */
    values() {
      const stop = (field("stop")?.value ?? "").split("\n").map((s) => s.replace(/\\n/g, "\n")).filter((s) => s.length > 0);
      const format = field("format")?.value.trim();
      return {
        system_prompt: system.value.trim() || undefined,
        temperature: number("temperature"),
        top_p: number("top-p"),
        top_k: number("top-k"),
        max_tokens: number("max-tokens"),
        seed: number("seed"),
        stop: stop.length ? stop : undefined,
        prompt_format: format || undefined,
      };
    },
    /**
     * Checks every number field; marks the first bad one (aria-invalid, focus, the form opened) and
     * returns what is wrong with it, or null when everything can be sent.
     */
    validate() {
      let problem = null;
      for (const [name, rule] of Object.entries(numberRules)) {
        const input = field(name);
        if (!input) continue;
        const found = numberProblem(input, rule);
        input.toggleAttribute("aria-invalid", Boolean(found));
        if (found) input.setAttribute("aria-invalid", "true");
        if (found && !problem) {
          problem = found;
          element.open = true;
          input.focus();
        }
      }
      return problem;
    },
    windowStrategy() {
      const size = Math.max(1, Math.floor(Number(windowSize.value) || 1));
      if (windowType.value === "last-turns") return { type: "last-turns", turns: size };
      if (windowType.value === "token-budget") return { type: "token-budget", maxPromptTokens: size };
      return { type: "keep-all" };
    },
    load(settings = {}) {
      system.value = settings.system_prompt ?? "";
      /** @param {string} name @param {unknown} value */
      const set = (name, value) => {
        const input = field(name);
        if (input && value !== undefined && value !== null) input.value = String(value);
      };
      set("temperature", settings.temperature);
      set("top-p", settings.top_p);
      set("top-k", settings.top_k);
      set("max-tokens", settings.max_tokens);
      set("seed", settings.seed);
      set("format", settings.prompt_format);
      if (settings.stop) set("stop", settings.stop.join("\n"));
      if (settings.window) {
        windowType.value = settings.window.type;
        windowSize.value = String(settings.window.turns ?? settings.window.maxPromptTokens ?? 4);
      }
    },
  };
}

/**
 * Drops undefined fields and the playground-only ones before a request body.
 * @param {SettingsValues} values
 * @returns {Record<string, unknown>}
 */
export function requestFields(values) {
  const { system_prompt: _system, ...rest } = values;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}
