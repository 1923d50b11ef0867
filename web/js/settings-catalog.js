// @ts-check
// What the settings forms read from the server instead of copying it: the sampling fields' bounds
// (generated from the server's zod request schema) and the prompt-format registry with the format
// "auto" picks for each loaded model, and why.
import { api } from "./api.js";

/** @typedef {import("../../src/server/routes/playground-settings.js").SamplingLimitsResponse} SamplingLimitsResponse */
/** @typedef {import("../../src/server/routes/playground-settings.js").SamplingFieldSchema} SamplingFieldSchema */
/** @typedef {import("../../src/server/routes/playground-settings.js").PromptFormatsResponse} PromptFormatsResponse */

/**
 * The settings catalog: one per page, made by the app and handed to every settings form, so the bounds
 * are read once for all forms and concurrent format reads share one request.
 * @typedef {{ samplingLimits(): Promise<SamplingLimitsResponse>, promptFormats(): Promise<PromptFormatsResponse> }} SettingsCatalog
 */

/**
 * @param {(path: string) => Promise<unknown>} [read] a GET on the server's API (tests pass their own)
 * @returns {SettingsCatalog}
 */
export function createSettingsCatalog(read = (path) => api("GET", path)) {
  /** @type {Promise<SamplingLimitsResponse> | null} */
  let limits = null;
  /** @type {Promise<PromptFormatsResponse> | null} */
  let formatsInFlight = null;
  return {
    /** The bounds never change while the server runs: read once per page (again after a failed read). */
    samplingLimits() {
      limits ??= /** @type {Promise<SamplingLimitsResponse>} */ (read("/api/sampling-limits")).catch((/** @type {unknown} */ error) => {
        limits = null;
        throw error;
      });
      return limits;
    },
    /** The registry and each model's auto choice as the server has them now (one read shared by concurrent callers). */
    promptFormats() {
      formatsInFlight ??= /** @type {Promise<PromptFormatsResponse>} */ (read("/api/prompt-formats")).finally(() => (formatsInFlight = null));
      return formatsInFlight;
    },
  };
}

/**
 * A number field's rule from its JSON Schema: `above`/`below` are exclusive bounds.
 * @param {string} label
 * @param {SamplingFieldSchema | undefined} schema
 * @returns {NumberRule}
 */
export function ruleFromSchema(label, schema) {
  return {
    label,
    integer: schema?.type === "integer",
    min: schema?.minimum,
    max: schema?.maximum,
    above: schema?.exclusiveMinimum,
    below: schema?.exclusiveMaximum,
  };
}

/** @typedef {{ label: string, integer?: boolean, min?: number, max?: number, above?: number, below?: number }} NumberRule */

/**
 * Why `text` (a number field's value) breaks `rule`, or null when it is empty or fine.
 * @param {string} text
 * @param {boolean} badInput the browser could not read the field as a number
 * @param {NumberRule} rule
 * @returns {string | null}
 */
export function numberProblem(text, badInput, rule) {
  if (badInput) return `${rule.label} must be a number`;
  if (text.trim() === "") return null;
  const value = Number(text);
  if (!Number.isFinite(value)) return `${rule.label} must be a number`;
  if (rule.integer && !Number.isInteger(value)) return `${rule.label} must be a whole number`;
  if (rule.above !== undefined && !(value > rule.above)) return `${rule.label} must be greater than ${rule.above}`;
  if (rule.min !== undefined && value < rule.min) return `${rule.label} must be at least ${rule.min}`;
  if (rule.below !== undefined && !(value < rule.below)) return `${rule.label} must be less than ${rule.below}`;
  if (rule.max !== undefined && value > rule.max) return `${rule.label} must be at most ${rule.max}`;
  return null;
}
