// @ts-check
// Generation settings (shared by Chat, Arena, Battle and Collaboration), as a labelled form: named
// presets, the prompt format picked from the server's registry ("auto" says what it picked and why),
// and every number checked before a request is sent against the bounds the server's own request
// schema sets (GET /api/sampling-limits), each bad field marked with aria-invalid and its message.
import { announce, h } from "./dom.js";
import { createPresetsBar } from "./presets.js";
import { numberProblem, ruleFromSchema } from "./settings-catalog.js";

/** @typedef {import("../../src/server/openai/request-schemas.js").SamplingOptions} SamplingOptions */
/** @typedef {import("./settings-catalog.js").NumberRule} NumberRule */
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
 * Settings as a conversation, a saved session or a preset stores them: the server's stored settings
 * (its sampling rules; other keys pass through), and Chat's window strategy.
 * @typedef {import("zod").infer<typeof import("../../src/server/routes/conversations.js").conversationSettingsSchema>} ServerStoredSettings
 * @typedef {ServerStoredSettings & { window?: { type: WindowStrategy["type"], turns?: number, maxPromptTokens?: number } }} StoredSettings
 */

/**
 * The number fields: the form's id suffix, the request field whose server-side bounds apply, the label.
 * @type {{ name: string, field: keyof SamplingOptions, label: string, attributes: import("./dom.js").Attributes }[]}
 */
const numberFields = [
  { name: "temperature", field: "temperature", label: "Temperature", attributes: { step: 0.1, value: 0.7 } },
  { name: "top-p", field: "top_p", label: "Top-p", attributes: { step: 0.05, value: 0.95 } },
  { name: "top-k", field: "top_k", label: "Top-k", attributes: { step: 1, value: 40 } },
  { name: "max-tokens", field: "max_tokens", label: "Max tokens", attributes: { step: 1, value: 256 } },
  { name: "seed", field: "seed", label: "Seed", attributes: { step: 1, placeholder: "random" } },
];

/**
 * The window size is the playground's own (it picks which messages are sent), not a request field.
 * @type {NumberRule}
 */
const windowSizeRule = { label: "Conversation window size", min: 1, integer: true };

/** @typedef {{ window?: boolean, promptFormat?: boolean, systemPrompt?: boolean }} SettingsFormOptions */
/**
 * @typedef {{ element: HTMLDetailsElement, values(): SettingsValues, validate(): string | null, load(settings?: StoredSettings, options?: { replace?: boolean }): void, windowStrategy(): WindowStrategy, watchModels(models: () => string[]): void, refreshFormats(): Promise<void> }} SettingsForm
 */
/**
 * The page's settings forms: they share one catalog (the server's bounds and formats), and each gets
 * its own id prefix from this object's count.
 * @typedef {{ create(options?: SettingsFormOptions): SettingsForm }} SettingsForms
 */

/**
 * @param {import("./settings-catalog.js").SettingsCatalog} catalog
 * @returns {SettingsForms}
 */
export function createSettingsForms(catalog) {
  let formCount = 0;
  return { create: (options = {}) => createSettingsForm(catalog, `settings-${++formCount}`, options) };
}

/**
 * @param {import("./settings-catalog.js").SettingsCatalog} catalog
 * @param {string} prefix the form's ids' prefix, unique on the page
 * @param {SettingsFormOptions} options
 * @returns {SettingsForm}
 */
function createSettingsForm(catalog, prefix, options) {
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
  const windowSize = h("input", { id: id("window-size"), type: "number", min: 1, value: 4, "aria-label": "turns or tokens for the window strategy", "aria-describedby": id("window-size-error") });
  const windowError = h("span", { class: "field-error", id: id("window-size-error") });
  const format = options.promptFormat === false ? null : h("select", { id: id("format"), "aria-describedby": id("format-reason") }, h("option", { value: "" }, "auto"));
  const formatReason = h("span", { class: "format-reason", id: id("format-reason") });

  /**
   * The rule of each number field; bounds arrive from the server (until then only "is it a number").
   * @type {Map<string, NumberRule>}
   */
  const rules = new Map([...numberFields.map((spec) => /** @type {const} */ ([spec.name, { label: spec.label }])), ["window-size", windowSizeRule]]);

  /** @param {(typeof numberFields)[number]} spec */
  const numberField = (spec) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: id(spec.name) }, spec.label),
      h("input", { id: id(spec.name), type: "number", inputmode: "decimal", "aria-describedby": id(`${spec.name}-error`), ...spec.attributes }),
      h("span", { class: "field-error", id: id(`${spec.name}-error`) }),
    );

  const element = h(
    "details",
    { class: "settings" },
    h("summary", {}, "Settings"),
    createPresetsBar({ idPrefix: prefix, read: () => ({ ...values(), window: windowStrategy() }), apply: (settings) => load(settings, { replace: true }), announce }),
    h(
      "div",
      { class: "settings-grid" },
      options.systemPrompt === false ? null : h("label", { for: id("system"), class: "wide" }, "System prompt", system),
      numberFields.map(numberField),
      h("label", { for: id("stop") }, "Stop (one per line)", h("textarea", { id: id("stop"), rows: 1 })),
      format ? h("div", { class: "field format-field" }, h("label", { for: id("format") }, "Prompt format"), format, formatReason) : null,
      options.window === false ? null : h("div", { class: "field window" }, h("label", { for: id("window") }, "Conversation window"), h("span", { class: "inline" }, windowType, windowSize), windowError),
    ),
  );

  /**
   * A field of this form by its id suffix: every one is an input, a textarea, a select or a span.
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

  /**
   * Marks one field (aria-invalid and its message under it); returns its problem or null.
   * @param {string} name
   */
  const checkField = (name) => {
    const input = field(name);
    const rule = rules.get(name);
    if (!input || !rule) return null;
    const problem = numberProblem(input.value, input.validity.badInput, rule);
    if (problem) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    const message = element.querySelector(`#${id(`${name}-error`)}`);
    if (message) message.textContent = problem ?? "";
    return problem;
  };
  for (const name of rules.keys()) field(name)?.addEventListener("input", () => field(name)?.hasAttribute("aria-invalid") && checkField(name));

  catalog.samplingLimits().then(
    ({ fields }) => {
      for (const spec of numberFields) {
        const schema = fields[spec.field];
        rules.set(spec.name, ruleFromSchema(spec.label, schema));
        const input = element.querySelector(`input#${id(spec.name)}`);
        if (!(input instanceof HTMLInputElement)) continue;
        const min = schema?.minimum ?? schema?.exclusiveMinimum;
        if (min !== undefined) input.min = String(min);
        if (schema?.maximum !== undefined) input.max = String(schema.maximum);
      }
      element.dataset.limits = "loaded";
    },
    // Without the bounds the server still refuses a bad value, with its own message.
    () => (element.dataset.limits = "failed"),
  );

  /**
   * The models whose auto format is explained (the view's current pick).
   * @type {() => string[]}
   */
  let watchedModels = () => [];
  /** @type {import("./settings-catalog.js").PromptFormatsResponse | null} */
  let formats = null;

  function paintFormatReason() {
    if (!format) return;
    const chosen = format.value;
    if (chosen) {
      const listed = formats?.data.find((entry) => entry.name === chosen);
      formatReason.textContent = listed ? `${listed.description}${listed.supports_system ? "" : " (no system prompt)"}` : "";
      element.dataset.autoFormat = "forced";
      return;
    }
    const models = watchedModels();
    const lines = models.map((model) => {
      const status = formats?.models.find((entry) => entry.id === model);
      if (!status?.auto) return `${model}: decided when the model loads`;
      return `${model}: ${status.auto.name} — ${status.auto.reason}`;
    });
    formatReason.textContent = lines.length ? `auto picks ${lines.join("; ")}` : "auto: each model's own format";
    element.dataset.autoFormat = models.length > 0 && models.every((model) => formats?.models.find((entry) => entry.id === model)?.auto) ? "known" : "pending";
  }

  async function refreshFormats() {
    if (!format) return;
    try {
      formats = await catalog.promptFormats();
    } catch {
      // Keep the last list; the next reply or model change asks again.
      return;
    }
    const present = new Set([...format.options].map((option) => option.value));
    for (const entry of formats.data) {
      if (!present.has(entry.name)) format.append(h("option", { value: entry.name, title: entry.description }, entry.name));
    }
    paintFormatReason();
  }

  if (format) {
    format.addEventListener("change", paintFormatReason);
    // A reply may have loaded a model: auto's choice is known from then on.
    document.addEventListener("camelid:reply-ended", () => void refreshFormats());
    void refreshFormats();
  }

  /** @returns {SettingsValues} */
  function values() {
    const stop = (field("stop")?.value ?? "").split("\n").map((s) => s.replace(/\\n/g, "\n")).filter((s) => s.length > 0);
    return {
      system_prompt: system.value.trim() || undefined,
      temperature: number("temperature"),
      top_p: number("top-p"),
      top_k: number("top-k"),
      max_tokens: number("max-tokens"),
      seed: number("seed"),
      stop: stop.length ? stop : undefined,
      prompt_format: format?.value || undefined,
    };
  }

  /** @returns {WindowStrategy} */
  function windowStrategy() {
    const size = Math.max(1, Math.floor(Number(windowSize.value) || 1));
    if (windowType.value === "last-turns") return { type: "last-turns", turns: size };
    if (windowType.value === "token-budget") return { type: "token-budget", maxPromptTokens: size };
    return { type: "keep-all" };
  }

  /**
   * `replace`: fields the settings do not name are emptied (a preset is the whole form).
   * @param {StoredSettings} [settings]
   * @param {{ replace?: boolean }} [options]
   */
  function load(settings = {}, { replace = false } = {}) {
    system.value = settings.system_prompt ?? "";
    /** @param {string} name @param {unknown} value */
    const set = (name, value) => {
      const input = field(name);
      if (!input) return;
      if (value !== undefined && value !== null) input.value = String(value);
      else if (replace) input.value = "";
    };
    set("temperature", settings.temperature);
    set("top-p", settings.top_p);
    set("top-k", settings.top_k);
    set("max-tokens", settings.max_tokens);
    set("seed", settings.seed);
    // The server also accepts one stop string; the playground saves a list.
    set("stop", settings.stop ? (Array.isArray(settings.stop) ? settings.stop.join("\n") : settings.stop) : undefined);
    if (format && (settings.prompt_format !== undefined || replace)) {
      const name = settings.prompt_format ?? "";
      // A stored name the registry no longer lists stays visible rather than silently becoming auto.
      if (name && ![...format.options].some((option) => option.value === name)) format.append(h("option", { value: name }, name));
      format.value = name;
      paintFormatReason();
    }
    if (settings.window) {
      windowType.value = settings.window.type;
      windowSize.value = String(settings.window.turns ?? settings.window.maxPromptTokens ?? 4);
    }
    for (const name of rules.keys()) if (field(name)?.hasAttribute("aria-invalid")) checkField(name);
  }

  return {
    element,
    /** OpenAI request fields (snake_case) plus system_prompt. */
    values,
    /**
     * Checks every number field; marks each bad one (aria-invalid and its message), opens the form and
     * focuses the first, and returns what is wrong with it, or null when everything can be sent.
     */
    validate() {
      let first = null;
      for (const name of rules.keys()) {
        const problem = checkField(name);
        if (problem && !first) {
          first = problem;
          element.open = true;
          field(name)?.focus();
        }
      }
      return first;
    },
    windowStrategy,
    load,
    /** Explains auto's choice for these models (the view's picker); asks the server again now. */
    watchModels(models) {
      watchedModels = models;
      paintFormatReason();
      void refreshFormats();
    },
    refreshFormats,
  };
}

/**
 * Drops undefined fields and the playground-only ones before a request body.
 * @param {SettingsValues | StoredSettings} values the form's, or a saved session's
 * @returns {Record<string, unknown>}
 */
export function requestFields(values) {
  const { system_prompt: _system, ...rest } = values;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}
