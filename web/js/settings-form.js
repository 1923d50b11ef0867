// Generation settings (shared by Chat, Arena, Battle and Collaboration), as a labelled form.
import { h } from "./dom.js";

let formCount = 0;

const numberField = (id, label, attributes) =>
  h("label", { for: id }, label, h("input", { id, type: "number", inputmode: "decimal", ...attributes }));

/**
 * @param {{ window?: boolean, promptFormat?: boolean, systemPrompt?: boolean }} options
 * @returns {{ element: HTMLElement, validate(): string | null, values(): object, load(settings: object): void, windowStrategy(): object }}
 */
export function createSettingsForm(options = {}) {
  const prefix = `settings-${++formCount}`;
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
      numberField(id("seed"), "Seed", { step: 1, placeholder: "random" }),
      h("label", { for: id("stop") }, "Stop (one per line)", h("textarea", { id: id("stop"), rows: 1 })),
      options.promptFormat === false
        ? null
        : h("label", { for: id("format") }, "Prompt format", h("input", { id: id("format"), type: "text", placeholder: "auto (model's own)" })),
      options.window === false ? null : h("label", { for: id("window"), class: "window" }, "Conversation window", h("span", { class: "inline" }, windowType, windowSize)),
    ),
  );

  const field = (name) => element.querySelector(`#${id(name)}`);

  /** What each number may hold (the same rules the server applies to a request); empty means "default". */
  const rules = [
    { name: "temperature", label: "Temperature", min: 0, max: 2 },
    { name: "top-p", label: "Top-p", min: 0, max: 1 },
    { name: "top-k", label: "Top-k", min: 0, integer: true },
    { name: "max-tokens", label: "Max tokens", min: 1, integer: true },
    { name: "seed", label: "Seed", integer: true },
  ];
  const problemWith = (input, rule) => {
    // A number input holding text that is not a number reports an empty value and badInput.
    if (input.validity.badInput) return `${rule.label} must be a number`;
    if (input.value.trim() === "") return null;
    const value = Number(input.value);
    if (!Number.isFinite(value)) return `${rule.label} must be a number`;
    if (rule.integer && !Number.isInteger(value)) return `${rule.label} must be a whole number`;
    if (rule.min !== undefined && value < rule.min) return `${rule.label} must be at least ${rule.min}`;
    if (rule.max !== undefined && value > rule.max) return `${rule.label} must be at most ${rule.max}`;
    return null;
  };
  const number = (name) => {
    const input = field(name);
    if (!input || input.value.trim() === "") return undefined;
    const value = Number(input.value);
    return Number.isFinite(value) ? value : undefined;
  };

  return {
    element,
    /**
     * Checks every field before anything is sent or saved: marks each bad one (aria-invalid, the
     * browser's validity message), opens the settings, focuses the first, and returns its message (null when all are fine).
     */
    validate() {
      const problems = [];
      const check = (input, problem) => {
        if (!input) return;
        input.setCustomValidity(problem ?? "");
        if (problem) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
        if (problem) problems.push({ input, problem });
      };
      for (const rule of rules) {
        const input = field(rule.name);
        if (input) check(input, problemWith(input, rule));
      }
      if (options.window !== false && windowType.value !== "keep-all") {
        check(windowSize, problemWith(windowSize, { label: "Conversation window size", min: 1, integer: true }));
      }
      if (problems.length === 0) return null;
      element.open = true;
      problems[0].input.focus();
      return problems.map((entry) => entry.problem).join("; ");
    },
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
    windowStrategy() {
      const size = Math.max(1, Math.floor(Number(windowSize.value) || 1));
      if (windowType.value === "last-turns") return { type: "last-turns", turns: size };
      if (windowType.value === "token-budget") return { type: "token-budget", maxPromptTokens: size };
      return { type: "keep-all" };
    },
    load(settings = {}) {
      system.value = settings.system_prompt ?? "";
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

/** Drops undefined fields and the playground-only ones before a request body. */
export function requestFields(values) {
  const { system_prompt: _system, ...rest } = values;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}
