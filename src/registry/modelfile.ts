// The Modelfile: Ollama's small file that packages a model (docs/modelfile.md in ollama/ollama), read the
// way its parser reads it: one instruction per line (case-insensitive), `#` comments, a value on the rest
// of the line, or what lies between "quotes" or """triple quotes""" (either may span lines). camelid reads FROM, ADAPTER,
// TEMPLATE, SYSTEM and PARAMETER as Ollama does, adds FORMAT (a camelid prompt-format name) and an optional
// scale after ADAPTER's path. Every error names the line.
import type { CallOptions } from "../spec/index.js";
import { LOCAL_MODEL_LIMITS } from "../spec/local-model-options.js";
import { ModelfileError } from "./errors.js";

export interface ModelfileAdapter {
  path: string;
  scale: number;
  line: number;
}

/** Sampling defaults a package carries (CallOptions' own fields); a request's own values win over them. */
export type PackagedSampling = Pick<
  CallOptions,
  "temperature" | "topP" | "topK" | "minP" | "repeatPenalty" | "repeatLastN" | "presencePenalty" | "frequencyPenalty" | "seed" | "stop" | "maxTokens"
>;

export interface Modelfile {
  from: { reference: string; line: number };
  adapters: ModelfileAdapter[];
  /** A Jinja chat template (TEMPLATE) … */
  template?: { text: string; line: number };
  /** … or a camelid prompt-format name (FORMAT); never both. */
  format?: { name: string; line: number };
  system?: string;
  sampling: PackagedSampling;
  /** PARAMETER num_ctx: tokens per sequence. */
  contextSize?: number;
}

type NumberRule = { key: Exclude<keyof PackagedSampling, "stop"> | "contextSize"; integer?: boolean; min?: number; max?: number };

/** PARAMETER names (Ollama's, plus a readable alias or two) and what each value may be. */
const NUMBER_PARAMETERS: Readonly<Record<string, NumberRule>> = {
  temperature: { key: "temperature", min: 0, max: 100 },
  top_p: { key: "topP", min: 0, max: 1 },
  top_k: { key: "topK", integer: true, min: 0 },
  min_p: { key: "minP", min: 0, max: 1 },
  repeat_penalty: { key: "repeatPenalty", min: 0 },
  repeat_last_n: { key: "repeatLastN", integer: true, min: 0 },
  presence_penalty: { key: "presencePenalty", min: -2, max: 2 },
  frequency_penalty: { key: "frequencyPenalty", min: -2, max: 2 },
  seed: { key: "seed", integer: true },
  num_predict: { key: "maxTokens", integer: true, min: 1 },
  max_tokens: { key: "maxTokens", integer: true, min: 1 },
  num_ctx: { key: "contextSize", integer: true, ...LOCAL_MODEL_LIMITS.contextSize },
  context_size: { key: "contextSize", integer: true, ...LOCAL_MODEL_LIMITS.contextSize },
};

export const MODELFILE_PARAMETERS: readonly string[] = [...Object.keys(NUMBER_PARAMETERS), "stop"];
const INSTRUCTIONS = ["FROM", "ADAPTER", "TEMPLATE", "FORMAT", "SYSTEM", "PARAMETER"] as const;
/** Ollama instructions camelid does not implement: named as such rather than "unknown". */
const OLLAMA_ONLY = ["LICENSE", "MESSAGE", "REQUIRES"];

interface Instruction {
  name: string;
  /** PARAMETER's name (the word after PARAMETER). */
  parameter?: string;
  /** The value with its quotes removed (Ollama's unquote: what lies between them, as is). */
  value: string;
  /** Words after a quoted value on its closing line (only ADAPTER's scale may stand there). */
  trailing: string;
  line: number;
}

export function parseModelfile(text: string, file = "Modelfile"): Modelfile {
  const fail = (line: number, message: string): never => {
    throw new ModelfileError(file, line, message);
  };
  const result: Partial<Modelfile> & { adapters: ModelfileAdapter[]; sampling: PackagedSampling } = { adapters: [], sampling: {} };
  const seen = new Map<string, number>();
  const once = (key: string, line: number, what: string) => {
    const first = seen.get(key);
    if (first !== undefined) fail(line, `${what} is given twice (first on line ${first})`);
    seen.set(key, line);
  };

  for (const instruction of readInstructions(text, fail)) {
    const { name, value, line } = instruction;
    switch (name) {
      case "FROM":
        once("FROM", line, "FROM");
        if (value === "") fail(line, "FROM needs a base model: a .gguf path, a pulled hf: name or a created model's name");
        result.from = { reference: value, line };
        break;
      case "ADAPTER":
        result.adapters.push(parseAdapter(instruction, fail));
        break;
      case "TEMPLATE":
      case "FORMAT": {
        const other = name === "TEMPLATE" ? seen.get("FORMAT") : seen.get("TEMPLATE");
        if (other !== undefined) fail(line, `give TEMPLATE or FORMAT, not both (the other is on line ${other})`);
        once(name, line, name);
        if (value.trim() === "") fail(line, `${name} is empty`);
        if (name === "TEMPLATE") {
          result.template = { text: value, line };
        } else {
          if (/\s/.test(value.trim())) fail(line, `FORMAT takes one prompt-format name (camelid formats list), got "${value}"`);
          result.format = { name: value.trim(), line };
        }
        break;
      }
      case "SYSTEM":
        once("SYSTEM", line, "SYSTEM");
        result.system = value;
        break;
      case "PARAMETER":
        parseParameter(instruction, result, once, fail);
        break;
    }
  }
  if (!result.from) fail(0, "no FROM line: a Modelfile must name its base model (FROM ./model.gguf, FROM hf:owner/repo:Q4_K_M or FROM <created model>)");
  return result as Modelfile;
}

/**
 * Splits the text into instructions. As in Ollama's parser, a value is the rest of the line, or what lies
 * between "quotes" or """triple quotes""" (either may span lines; nothing inside is unescaped or trimmed).
 */
function readInstructions(text: string, fail: (line: number, message: string) => never): Instruction[] {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const instructions: Instruction[] = [];
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const trimmed = lines[index].trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const match = /^(\S+)(?:\s+([\s\S]*))?$/.exec(trimmed)!;
    const name = match[1].toUpperCase();
    if (!(INSTRUCTIONS as readonly string[]).includes(name)) {
      if (OLLAMA_ONLY.includes(name)) fail(lineNumber, `${name} is an Ollama instruction camelid does not support`);
      fail(lineNumber, `unknown instruction "${match[1]}"; one of ${INSTRUCTIONS.join(", ")}`);
    }
    let rest = match[2] ?? "";
    let parameter: string | undefined;
    if (name === "PARAMETER") {
      const words = /^(\S+)(?:\s+([\s\S]*))?$/.exec(rest);
      if (!words) fail(lineNumber, "PARAMETER needs a name and a value (PARAMETER temperature 0.7)");
      parameter = words![1];
      rest = words![2] ?? "";
    }
    const quote = rest.startsWith('"""') ? '"""' : rest.startsWith('"') ? '"' : undefined;
    if (!quote) {
      instructions.push({ name, ...(parameter !== undefined ? { parameter } : {}), value: rest.trim(), trailing: "", line: lineNumber });
      continue;
    }
    // Find the closing quote, on this line or a later one.
    let text = rest.slice(quote.length);
    let end = index;
    let close = text.indexOf(quote);
    while (close === -1 && end + 1 < lines.length) {
      end++;
      const next = lines[end].indexOf(quote);
      close = next === -1 ? -1 : text.length + 1 + next;
      text += `\n${lines[end]}`;
    }
    if (close === -1) fail(lineNumber, `unterminated ${quote}: the ${parameter ? `PARAMETER ${parameter}` : name} value opened here never closes`);
    const trailing = text.slice(close + quote.length).trim();
    if (trailing !== "" && name !== "ADAPTER") fail(end + 1, `text after the closing ${quote}: "${trailing}"`);
    instructions.push({ name, ...(parameter !== undefined ? { parameter } : {}), value: text.slice(0, close), trailing, line: lineNumber });
    index = end;
  }
  return instructions;
}

/** `ADAPTER path [scale]`: the path as Ollama reads it, camelid's optional scale after it. */
function parseAdapter(instruction: Instruction, fail: (line: number, message: string) => never): ModelfileAdapter {
  const { line } = instruction;
  let path = instruction.value;
  let scaleText = instruction.trailing;
  if (scaleText === "") {
    const words = /^(.*\S)\s+(\S+)$/.exec(path);
    if (words && /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(words[2])) [path, scaleText] = [words[1], words[2]];
  }
  if (path.trim() === "") fail(line, "ADAPTER needs the path of a LoRA adapter .gguf (and optionally a scale)");
  let scale = 1;
  if (scaleText !== "") {
    scale = Number(scaleText);
    const { min, max } = LOCAL_MODEL_LIMITS.loraScale;
    if (!Number.isFinite(scale) || scale < min || scale > max) fail(line, `ADAPTER scale must be a number from ${min} to ${max}, got "${scaleText}"`);
  }
  return { path, scale, line };
}

function parseParameter(
  instruction: Instruction,
  result: { sampling: PackagedSampling; contextSize?: number },
  once: (key: string, line: number, what: string) => void,
  fail: (line: number, message: string) => never,
): void {
  const { line } = instruction;
  const name = (instruction.parameter ?? "").toLowerCase();
  const raw = instruction.value;
  if (raw === "") fail(line, `PARAMETER ${name} needs a value`);
  if (name === "stop") {
    if (raw === "") fail(line, "PARAMETER stop needs a non-empty string");
    (result.sampling.stop ??= []).push(raw);
    return;
  }
  const rule = NUMBER_PARAMETERS[name];
  if (!rule) fail(line, `unknown parameter "${instruction.parameter}"; one of ${MODELFILE_PARAMETERS.join(", ")}`);
  once(`PARAMETER ${rule.key}`, line, `PARAMETER ${name}`);
  const value = Number(raw);
  const range = `${rule.integer ? "an integer" : "a number"}${rule.min !== undefined ? ` from ${rule.min}` : ""}${rule.max !== undefined ? ` to ${rule.max}` : rule.min !== undefined ? " up" : ""}`;
  if (/\s/.test(raw.trim()) || !Number.isFinite(value) || (rule.integer && !Number.isInteger(value)) || (rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) {
    fail(line, `PARAMETER ${name} must be ${range}, got "${raw}"`);
  }
  if (rule.key === "contextSize") result.contextSize = value;
  else result.sampling[rule.key] = value;
}

const SAMPLING_NAMES: Readonly<Record<Exclude<keyof PackagedSampling, "stop">, string>> = {
  temperature: "temperature",
  topP: "top_p",
  topK: "top_k",
  minP: "min_p",
  repeatPenalty: "repeat_penalty",
  repeatLastN: "repeat_last_n",
  presencePenalty: "presence_penalty",
  frequencyPenalty: "frequency_penalty",
  seed: "seed",
  maxTokens: "num_predict",
};

export interface ModelfileSource {
  from: string;
  adapters: { path: string; scale: number }[];
  template?: string;
  format?: string;
  system?: string;
  sampling: PackagedSampling;
  contextSize?: number;
}

/** A Modelfile that parses back to the same package (`camelid show NAME --modelfile`). */
export function renderModelfile(source: ModelfileSource): string {
  const lines = [`FROM ${quoteIfNeeded(source.from)}`];
  for (const adapter of source.adapters) lines.push(`ADAPTER ${quoteIfNeeded(adapter.path)}${adapter.scale === 1 ? "" : ` ${adapter.scale}`}`);
  if (source.format !== undefined) lines.push(`FORMAT ${source.format}`);
  if (source.template !== undefined) lines.push(`TEMPLATE ${tripleQuote(source.template)}`);
  if (source.system !== undefined) lines.push(`SYSTEM ${tripleQuote(source.system)}`);
  for (const [key, name] of Object.entries(SAMPLING_NAMES) as [Exclude<keyof PackagedSampling, "stop">, string][]) {
    const value = source.sampling[key];
    if (value !== undefined) lines.push(`PARAMETER ${name} ${value}`);
  }
  for (const stop of source.sampling.stop ?? []) lines.push(`PARAMETER stop ${quoteIfNeeded(stop)}`);
  if (source.contextSize !== undefined) lines.push(`PARAMETER num_ctx ${source.contextSize}`);
  return `${lines.join("\n")}\n`;
}

/** Ollama's quote(): bare when that reads back the same, else "quoted", else """quoted""". */
function quoteIfNeeded(text: string): string {
  if (text !== "" && text === text.trim() && !text.includes("\n") && !text.startsWith('"')) return text;
  if (!text.includes('"')) return `"${text}"`;
  if (text.includes('"""')) throw new ModelfileError("(rendered Modelfile)", 0, 'a value containing """ cannot be written in a Modelfile');
  return `"""${text}"""`;
}

function tripleQuote(text: string): string {
  if (text.includes('"""')) throw new ModelfileError("(rendered Modelfile)", 0, 'a value containing """ cannot be written in a Modelfile');
  return `"""${text}"""`;
}
