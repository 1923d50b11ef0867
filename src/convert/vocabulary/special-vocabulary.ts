// gguf-py's SpecialVocab (gguf/vocab.py): merges, special token ids, add_*_token flags, the chat
// template and normalizer flags, read from tokenizer.json, tokenizer_config.json, chat_template.*
// and config.json in the same order and with the same precedence as the Python class.
import { TokenizerFileError } from "../../errors/index.js";
import { isJsonObject, type HfTokenizerFiles, type JsonObject } from "./hf-folder.js";
import type { MetadataEntries } from "./metadata-entries.js";
import { readTokenizerJsonMerges } from "./merges.js";

export type ChatTemplate = string | { name?: unknown; template?: unknown }[];

const DEFAULT_SPECIAL_TOKEN_TYPES = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"];

/** GGUFWriter's add_<type>_token_id handlers; other types (cls, prefix …) are skipped with a warning. */
const SPECIAL_TOKEN_ID_KEYS: Record<string, string> = {
  bos: "tokenizer.ggml.bos_token_id",
  eos: "tokenizer.ggml.eos_token_id",
  unk: "tokenizer.ggml.unknown_token_id",
  sep: "tokenizer.ggml.seperator_token_id",
  pad: "tokenizer.ggml.padding_token_id",
  mask: "tokenizer.ggml.mask_token_id",
  eot: "tokenizer.ggml.eot_token_id",
  eom: "tokenizer.ggml.eom_token_id",
};

/** GGUFWriter's add_add_<type>_token handlers. */
const ADD_SPECIAL_TOKEN_KEYS: Record<string, string> = {
  bos: "tokenizer.ggml.add_bos_token",
  eos: "tokenizer.ggml.add_eos_token",
  sep: "tokenizer.ggml.add_sep_token",
};

/** Python truthiness for JSON values. */
function truthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isJsonObject(value)) return Object.keys(value).length > 0;
  return true;
}

/** Python `==` for JSON values (a string never equals a dict). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function specialTokenId(entry: unknown): unknown {
  return isJsonObject(entry) && isJsonObject(entry.SpecialToken) ? entry.SpecialToken.id : undefined;
}

function sequenceId(entry: unknown): unknown {
  return isJsonObject(entry) && isJsonObject(entry.Sequence) ? entry.Sequence.id : undefined;
}

export interface SpecialVocabularyOptions {
  loadMerges?: boolean;
  specialTokenTypes?: string[];
  /** Ids at or above this are skipped with a warning; undefined accepts any id. */
  vocabularySize?: number;
}

export class SpecialVocabulary {
  merges: string[] = [];
  readonly addSpecialToken = new Map<string, boolean>();
  readonly specialTokenIds = new Map<string, number>();
  chatTemplate: ChatTemplate | undefined;
  normalizerLowercase: boolean | undefined;
  normalizerStripAccents: boolean | undefined;
  private specialTokenTypes: string[];
  private readonly loadMerges: boolean;
  private readonly vocabularySize: number | undefined;

  constructor(
    private readonly files: HfTokenizerFiles,
    private readonly metadata: MetadataEntries,
    options: SpecialVocabularyOptions = {},
  ) {
    this.loadMerges = options.loadMerges ?? false;
    this.specialTokenTypes = [...(options.specialTokenTypes ?? DEFAULT_SPECIAL_TOKEN_TYPES)];
    this.vocabularySize = options.vocabularySize;
    this.loadFromTokenizerJson();
    this.loadFromConfigJson();
    if (this.loadMerges && this.merges.length === 0) this.loadMergesTxt();
  }

  setSpecialToken(type: string, id: unknown, source: string): void {
    if (typeof id !== "number" || !Number.isInteger(id)) return;
    if (id < 0) throw new TokenizerFileError(source, "malformed", `invalid value for special token type ${type}: ${id}`);
    if (this.vocabularySize === undefined || id < this.vocabularySize) {
      if (!this.specialTokenIds.has(type)) this.specialTokenIds.set(type, id);
      return;
    }
    this.metadata.warn(`Special token type ${type}, id ${id} out of range, must be under ${this.vocabularySize} - skipping`);
  }

  /** SpecialVocab.add_to_gguf. */
  addTo(metadata: MetadataEntries): void {
    if (this.merges.length > 0) metadata.strings("tokenizer.ggml.merges", this.merges);
    else if (this.loadMerges) metadata.warn("Adding merges requested but no merges found, output may be non-functional.");
    for (const [type, id] of this.specialTokenIds) {
      const key = SPECIAL_TOKEN_ID_KEYS[type];
      if (key === undefined) metadata.warn(`No handler for special token type ${type} with id ${id} - skipping`);
      else metadata.uint32(key, id);
    }
    for (const [type, value] of this.addSpecialToken) {
      const key = ADD_SPECIAL_TOKEN_KEYS[type];
      if (key === undefined) metadata.warn(`No handler for add_${type}_token with value ${value} - skipping`);
      else metadata.bool(key, value);
    }
    if (this.chatTemplate !== undefined) addChatTemplate(metadata, this.chatTemplate);
    if (this.normalizerLowercase !== undefined) metadata.bool("tokenizer.ggml.normalizer.lowercase", this.normalizerLowercase);
    if (this.normalizerStripAccents !== undefined) metadata.bool("tokenizer.ggml.normalizer.strip_accents", this.normalizerStripAccents);
  }

  private loadMergesTxt(): void {
    const text = this.files.mergesTxt;
    if (text === undefined) return;
    const lines = text.split("\n");
    let lineNumber = 0;
    if (lines.length > 0 && lines[0].trim().startsWith("#")) {
      lines.shift();
      lineNumber = 1;
    }
    const merges: string[] = [];
    for (const raw of lines) {
      lineNumber++;
      const line = raw.trim();
      if (line === "") continue;
      const parts = line.split(/\s+/);
      if (parts.length !== 2) {
        this.metadata.warn(`merges.txt: Line ${lineNumber}: Entry malformed, ignoring`);
        continue;
      }
      merges.push(`${parts[0]} ${parts[1]}`);
    }
    this.merges = merges;
  }

  private parseNormalizer(normalizer: JsonObject): void {
    const type = normalizer.type;
    if (type === "Lowercase") this.normalizerLowercase = true;
    else if (type === "StripAccents") this.normalizerStripAccents = true;
    else if (type === "BertNormalizer") {
      if ("lowercase" in normalizer) this.normalizerLowercase = normalizer.lowercase as boolean;
      if ("strip_accents" in normalizer) this.normalizerStripAccents = normalizer.strip_accents as boolean;
    } else if (type === "Sequence") {
      const normalizers = Array.isArray(normalizer.normalizers) ? normalizer.normalizers : [];
      for (const inner of normalizers) if (isJsonObject(inner)) this.parseNormalizer(inner);
    }
  }

  private readMerges(tokenizer: JsonObject): void {
    const merges = readTokenizerJsonMerges(tokenizer, this.files.path("tokenizer.json"));
    if (!merges) return;
    this.merges = merges.ggufMerges;
    if (merges.spacesInParts) this.metadata.warn("Spaces in merges detected, encoding as 'Ġ'");
  }

  /** SpecialVocab._try_load_from_tokenizer_json (which also reads tokenizer_config.json). */
  private loadFromTokenizerJson(): void {
    const tokenizer = this.files.tokenizerJson;
    let addedTokens: unknown[] = [];
    if (tokenizer) {
      if (this.loadMerges) this.readMerges(tokenizer);
      if (isJsonObject(tokenizer.normalizer) && truthy(tokenizer.normalizer)) this.parseNormalizer(tokenizer.normalizer);
      if (tokenizer.added_tokens !== undefined) {
        if (!Array.isArray(tokenizer.added_tokens)) throw new TokenizerFileError(this.files.path("tokenizer.json"), "malformed", "added_tokens must be an array");
        addedTokens = tokenizer.added_tokens;
      }
    }
    // The Python mutates its copy of tokenizer_config while reading the post-processor.
    const tokenizerConfig: JsonObject | undefined = this.files.tokenizerConfig ? { ...this.files.tokenizerConfig } : undefined;
    if (tokenizer) this.readPostProcessor(tokenizer, tokenizerConfig);
    if (!truthy(tokenizerConfig) || tokenizerConfig === undefined) return;
    this.readChatTemplate(tokenizerConfig);
    for (const type of this.specialTokenTypes) {
      const addEntry = tokenizerConfig[`add_${type}_token`];
      if (typeof addEntry === "boolean") this.addSpecialToken.set(type, addEntry);
      const entry = tokenizerConfig[`${type}_token`];
      let content: string;
      if (typeof entry === "string") content = entry;
      else if (isJsonObject(entry) && typeof entry.content === "string") content = entry.content;
      else continue;
      const match = addedTokens.find((token) => isJsonObject(token) && token.content === content);
      this.setSpecialToken(type, isJsonObject(match) ? match.id : undefined, this.files.path("tokenizer.json"));
    }
  }

  private readChatTemplate(tokenizerConfig: JsonObject): void {
    let alternative: ChatTemplate | undefined;
    if (this.files.chatTemplateJinja !== undefined) {
      alternative = this.files.chatTemplateJinja;
      if (this.files.additionalChatTemplates.length > 0) {
        alternative = [{ name: "default", template: this.files.chatTemplateJinja }, ...this.files.additionalChatTemplates];
      }
    } else if (this.files.chatTemplateJson !== undefined) {
      alternative = this.files.chatTemplateJson.chat_template as ChatTemplate | undefined;
    }
    const template = "chat_template" in tokenizerConfig ? tokenizerConfig.chat_template : alternative;
    if (template === undefined || template === null) this.chatTemplate = undefined;
    else if (typeof template === "string" || Array.isArray(template)) this.chatTemplate = template as ChatTemplate;
    else this.metadata.warn(`Bad type for chat_template field in ${this.files.path("tokenizer_config.json")} - ignoring`);
  }

  /** The post-processor part of _try_load_from_tokenizer_json: RobertaProcessing and simple TemplateProcessing. */
  private readPostProcessor(tokenizer: JsonObject, tokenizerConfig: JsonObject | undefined): void {
    const config = tokenizerConfig ?? {};
    let specialBos = config.bos_token;
    let specialCls = config.cls_token;
    let specialEos = config.eos_token;
    let specialSep = config.sep_token;
    const hasConfig = truthy(tokenizerConfig);
    if (!truthy(specialBos) && truthy(specialCls) && hasConfig) config.bos_token = specialBos = specialCls;
    if (!truthy(specialEos) && truthy(specialSep) && hasConfig) config.eos_token = specialEos = specialSep;
    const postProcessor = tokenizer.post_processor;
    if (!isJsonObject(postProcessor) || !truthy(postProcessor)) return;
    const processors = Array.isArray(postProcessor.processors) ? postProcessor.processors : [postProcessor];
    for (const processor of processors) {
      if (!isJsonObject(processor)) continue;
      if (processor.type === "RobertaProcessing") {
        this.addSpecialToken.set("bos", true);
        this.addSpecialToken.set("eos", true);
        this.addSpecialToken.set("sep", true);
        if (!truthy(specialCls) && hasConfig) {
          specialCls = Array.isArray(processor.cls) ? processor.cls[0] : specialBos;
          config.cls_token = specialCls;
        }
        if (!truthy(specialSep) && hasConfig) {
          specialSep = Array.isArray(processor.sep) ? processor.sep[0] : specialEos;
          config.sep_token = specialSep;
        }
        continue;
      }
      if (processor.type !== "TemplateProcessing") continue;
      const single = Array.isArray(processor.single) ? processor.single : [];
      let pair = Array.isArray(processor.pair) ? processor.pair : [];
      let specialFirst: unknown;
      let specialLast: unknown;
      if (single.length > 1) {
        specialFirst = specialTokenId(single[0]);
        if (truthy(specialFirst)) {
          if (!hasConfig) specialBos = specialFirst;
          else if (!same(specialFirst, specialBos) && !same(specialFirst, specialCls)) {
            if (!truthy(specialBos)) config.bos_token = specialBos = specialFirst;
            if (!truthy(specialCls)) config.cls_token = specialCls = specialFirst;
          }
          const known = same(specialFirst, specialBos) || same(specialFirst, specialCls);
          this.addSpecialToken.set("bos", known);
          if (!known) this.metadata.warn(`Unknown leading special token ${JSON.stringify(specialFirst)} in TemplateProcessing<single>`);
        }
        specialLast = specialTokenId(single[single.length - 1]);
        if (truthy(specialLast)) {
          if (!hasConfig) specialEos = specialLast;
          else if (!same(specialLast, specialEos)) {
            if (!this.specialTokenTypes.includes("eot")) {
              this.specialTokenTypes.push("eot");
              config.eot_token = specialEos;
            } else if (!this.specialTokenTypes.includes("eom")) {
              this.specialTokenTypes.push("eom");
              config.eom_token = specialEos;
            } else {
              this.metadata.warn(`Overriding EOS token ${JSON.stringify(specialEos)} with ${JSON.stringify(specialLast)} without EOT/EOM fallback!`);
            }
            config.eos_token = specialEos = specialLast;
          }
          this.addSpecialToken.set("eos", same(specialLast, specialEos));
        }
      }
      if (pair.length > 0) {
        const start = truthy(specialFirst) && same(specialTokenId(pair[0]), specialFirst) ? 1 : 0;
        const stop = truthy(specialLast) && same(specialTokenId(pair[pair.length - 1]), specialLast) ? pair.length - 1 : pair.length;
        if ((truthy(specialFirst) && start === 0) || (truthy(specialLast) && stop === pair.length)) {
          this.metadata.warn("TemplateProcessing<single> leading/trailing special tokens do not match TemplateProcessing<pair>");
        }
        pair = pair.slice(start, stop);
        if (pair.length > 0) {
          const first = sequenceId(pair[0]);
          const last = sequenceId(pair[pair.length - 1]);
          if (first !== "A" || last !== "B") this.metadata.warn(`Unknown sequence ${String(first)}...${String(last)} in TemplateProcessing<pair>`);
          const middle = first === "A" && last === "B" ? pair.slice(1, -1) : [];
          if (middle.length > 0) {
            let addSep = false;
            const entry = specialTokenId(middle[0]);
            if (truthy(entry)) {
              const isSeparator = same(entry, specialSep) || same(entry, specialEos);
              if (isSeparator && !truthy(specialLast)) addSep = true;
              if (!isSeparator) this.metadata.warn(`Unknown separator token ${JSON.stringify(entry)} in TemplateProcessing<pair>`);
            } else {
              this.metadata.warn(`Unknown middle sequence ${JSON.stringify(middle[0])} in TemplateProcessing<pair>`);
            }
            if (middle.length === 2) {
              const second = specialTokenId(middle[1]);
              if (truthy(second)) {
                const isSeparator = same(second, specialSep) || same(second, specialEos);
                if (isSeparator) addSep = true;
                else this.metadata.warn(`Unknown second separator token ${JSON.stringify(second)} in TemplateProcessing<pair>`);
              } else {
                this.metadata.warn(`Unknown second middle sequence ${JSON.stringify(middle[1])} in TemplateProcessing<pair>`);
              }
            }
            this.addSpecialToken.set("sep", addSep);
            if (addSep && !truthy(specialSep) && hasConfig) config.sep_token = specialEos;
          }
        }
      }
    }
  }

  /** SpecialVocab._try_load_from_config_json. */
  private loadFromConfigJson(): void {
    const config = this.files.config;
    if (!config) return;
    for (const type of this.specialTokenTypes) {
      let id = config[`${type}_token_id`];
      if ((id === undefined || id === null) && isJsonObject(config.text_config)) id = config.text_config[`${type}_token_id`];
      this.setSpecialToken(type, id, this.files.path("config.json"));
    }
  }
}

/** GGUFWriter.add_chat_template: a string, or named templates (default + tokenizer.chat_template.NAME). */
function addChatTemplate(metadata: MetadataEntries, template: ChatTemplate): void {
  if (typeof template === "string") {
    metadata.string("tokenizer.chat_template", template);
    return;
  }
  let defaultTemplate: string | undefined;
  const names: string[] = [];
  for (const choice of template) {
    const rawName = isJsonObject(choice) && typeof choice.name === "string" ? choice.name : "";
    const value = isJsonObject(choice) ? choice.template : undefined;
    // gguf-py keeps only ASCII letters and digits in a template's name
    const name = rawName.replace(/[^A-Za-z0-9]/gu, "_");
    if (name === "" || value === undefined || value === null) continue;
    if (name === "default") defaultTemplate = String(value);
    else {
      if (!names.includes(name)) names.push(name);
      metadata.string(`tokenizer.chat_template.${name}`, String(value));
    }
  }
  // gguf-py collects the names in a set, so its order is Python's hash order; ours is first appearance
  if (names.length > 0) metadata.strings("tokenizer.chat_templates", names);
  if (defaultTemplate !== undefined) metadata.string("tokenizer.chat_template", defaultTemplate);
}
