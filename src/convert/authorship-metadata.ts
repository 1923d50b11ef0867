// The general.* authorship keys llama.cpp's converters write (gguf-py metadata.py: Metadata.load with
// no override file, then set_gguf_meta_model), ported so a converted file's metadata equals theirs:
// the README.md model card's YAML front matter, config.json's _name_or_path, generation_config.json's
// sampling defaults, and the folder's own name, through the same naming heuristics.
import { existsSync, readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { GgufValue } from "../gguf/index.js";
import { samplingMetadata } from "./model-metadata.js";
import { idToTitle } from "./model-name.js";

type Entry = [string, GgufValue];
type Card = Record<string, unknown>;

interface Reference {
  name?: string;
  author?: string;
  version?: string;
  organization?: string;
  description?: string;
  url?: string;
  doi?: string;
  uuid?: string;
  repo_url?: string;
}

interface Authorship {
  name?: string;
  author?: string;
  version?: string;
  organization?: string;
  finetune?: string;
  basename?: string;
  description?: string;
  size_label?: string;
  license?: unknown;
  license_name?: string;
  license_link?: string;
  source_url?: string;
  source_doi?: string;
  source_uuid?: string;
  source_repo_url?: string;
  base_models?: Reference[];
  datasets?: Reference[];
  tags?: unknown[];
  languages?: unknown[];
}

function readJson(path: string): Card {
  if (!existsSync(path)) return {};
  try {
    const value: unknown = JSON.parse(readFileSync(path, "utf8"));
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Card) : {};
  } catch {
    return {}; // metadata.py skips an unreadable generation_config.json the same way
  }
}

/** metadata.py load_model_card: the YAML front matter of README.md, or nothing. */
function readModelCard(folder: string): Card {
  const path = resolve(folder, "README.md");
  if (!existsSync(path)) return {};
  const lines = readFileSync(path, "utf8").split(/\r\n|\r|\n/);
  if (lines.length === 0 || lines[0] !== "---") return {};
  const yamlLines: string[] = [];
  for (const line of lines.slice(1)) {
    if (line === "---") break;
    yamlLines.push(line);
  }
  const text = `${yamlLines.join("\n")}\n`.replaceAll("- no\n", '- "no"\n').replaceAll("\t", "  ");
  // PyYAML's safe_load is YAML 1.1 (yes/no/on/off are booleans)
  const data: unknown = parseYaml(text, { version: "1.1" });
  return data && typeof data === "object" && !Array.isArray(data) ? (data as Card) : {};
}

type NameType = "basename" | "size_label" | "finetune" | "version" | "type";

export interface ModelIdComponents {
  fullName?: string;
  organization?: string;
  basename?: string;
  finetune?: string;
  version?: string;
  sizeLabel?: string;
}

/** metadata.py get_model_id_components: a Hugging Face id split into name, organization, basename, size… */
export function modelIdComponents(modelId: string | undefined, totalParams: number): ModelIdComponents {
  if (modelId === undefined) return {};
  if (modelId.includes(" ")) return { fullName: modelId };
  let organization: string | undefined;
  let fullName = modelId;
  const slash = modelId.indexOf("/");
  if (slash >= 0) [organization, fullName] = [modelId.slice(0, slash), modelId.slice(slash + 1)];
  if (organization !== undefined && organization.startsWith(".")) organization = undefined;
  const parts = fullName.split("-").filter((part) => part.length > 0);
  const types = parts.map(() => new Set<NameType>());
  parts.forEach((part, i) => {
    if (/^(v|iter)?\d+([.]\d+)*$/i.test(part)) types[i].add("version");
    else if (/^(i?q\d(_\w)*|b?fp?(16|32))$/i.test(part)) {
      types[i].add("type");
      parts[i] = part.toUpperCase();
    } else if (i > 0 && /^(([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl)$/i.test(part)) {
      let label = part.replaceAll("_", ".");
      if (/\d/.test(label[label.length - 1])) label = `${label.slice(0, -2)}.${label[label.length - 1]}${label[label.length - 2]}`;
      if (label.length > 1 && /\d/.test(label[label.length - 2]) && "kmbt".includes(label[label.length - 1])) label = label.slice(0, -1) + label[label.length - 1].toUpperCase();
      if (totalParams !== 0) {
        const labelParams = Number(label.slice(0, -1)) * 1000 ** " KMBT".indexOf(label[label.length - 1]);
        if (Number.isFinite(labelParams)) {
          const tooSmall = totalParams < 0 && labelParams < Math.floor(Math.abs(totalParams) / 8);
          const tooFar = totalParams > 0 && Math.abs(labelParams - totalParams) > Math.floor((7 * totalParams) / 8);
          if (tooSmall || tooFar) {
            types[i].add("finetune");
            label = label.slice(0, -1) + label[label.length - 1].toLowerCase();
          }
        }
      }
      if (types[i].size === 0) types[i].add("size_label");
      parts[i] = label;
    } else if (i > 0 && /^(chat|instruct|vision|lora)$/i.test(part)) {
      types[i].add(totalParams < 0 && part.toLowerCase() === "lora" ? "type" : "finetune");
    }
  });
  if (parts.some((part, i) => types[i].has("size_label") && /\d/.test(part))) {
    parts.forEach((part, i) => {
      if (types[i].has("size_label") && /^\p{L}+$/u.test(part)) types[i].delete("size_label");
    });
  }
  let atStart = true;
  parts.forEach((part, i) => {
    if (atStart && ((types[i].size === 0 && /^\p{L}/u.test(part)) || types[i].has("version"))) types[i].add("basename");
    else {
      atStart = false;
      if (types[i].size === 0) types[i].add("finetune");
    }
  });
  for (let i = parts.length - 1; i >= 0; i--) {
    if (types[i].has("basename") && types[i].size > 1) types[i].delete("basename");
    else break;
  }
  const joined = (type: NameType, exclude?: NameType) => parts.filter((_, i) => types[i].has(type) && !(exclude && types[i].has(exclude))).join("-") || undefined;
  let base = joined("basename");
  const sizeLabel = [...new Set(parts.filter((_, i) => types[i].has("size_label")))].join("-") || undefined;
  const finetune = joined("finetune");
  const version = joined("version", "basename");
  if (sizeLabel === undefined && finetune === undefined && version === undefined) base = undefined;
  return { fullName, organization, basename: base, finetune, version, sizeLabel };
}

function referenceFrom(id: unknown, totalParams: number): Reference | undefined {
  if (id && typeof id === "object" && !Array.isArray(id)) return id as Reference;
  if (typeof id !== "string") return undefined;
  const reference: Reference = {};
  const fill = (components: ModelIdComponents) => {
    if (components.fullName !== undefined) reference.name = idToTitle(components.fullName);
    if (components.organization !== undefined) reference.organization = idToTitle(components.organization);
    if (components.version !== undefined) reference.version = components.version;
    return components;
  };
  if (/^(https?|ssh):\/\//.test(id)) {
    reference.repo_url = id;
    const match = id.includes("huggingface.co") ? /^https?:\/\/huggingface\.co\/([^/]+\/[^/]+)$/.exec(id) : null;
    if (match) fill(modelIdComponents(match[1], totalParams));
  } else {
    const components = fill(modelIdComponents(id, totalParams));
    if (components.organization !== undefined && components.fullName !== undefined) reference.repo_url = `https://huggingface.co/${components.organization}/${components.fullName}`;
  }
  return reference;
}

function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function applyModelCard(meta: Authorship, card: Card, totalParams: number): void {
  const use = (key: keyof Authorship, cardKey: string) => {
    if (cardKey in card && meta[key] === undefined) (meta as Record<string, unknown>)[key] = card[cardKey] ?? undefined;
  };
  for (const [key, cardKey] of [["name", "name"], ["author", "author"], ["version", "version"], ["organization", "organization"], ["description", "description"], ["finetune", "finetune"], ["basename", "basename"], ["size_label", "size_label"], ["source_url", "url"], ["source_doi", "doi"], ["source_uuid", "uuid"], ["source_repo_url", "repo_url"]] as const) {
    use(key, cardKey);
  }
  for (const [key, cardKey] of [["name", "model_name"], ["author", "model_author"], ["version", "model_version"], ["organization", "model_organization"], ["description", "model_description"], ["finetune", "model_finetune"], ["basename", "model_basename"], ["size_label", "model_size_label"], ["source_url", "model_url"], ["source_doi", "model_doi"], ["source_uuid", "model_uuid"], ["source_repo_url", "model_repo_url"]] as const) {
    use(key, cardKey);
  }
  use("name", "model_name");
  use("author", "model_creator");
  use("basename", "model_type");
  const references = (keys: string[]): Reference[] | undefined => {
    if (!keys.some((key) => key in card)) return undefined;
    const value = keys.map((key) => card[key]).find((candidate) => candidate !== undefined);
    return asList(value).flatMap((id) => referenceFrom(id, totalParams) ?? []);
  };
  const bases = references(["base_model", "base_models", "base_model_sources"]);
  if (bases) meta.base_models = [...(meta.base_models ?? []), ...bases];
  const datasets = references(["datasets", "dataset", "dataset_sources"]);
  if (datasets) meta.datasets = [...(meta.datasets ?? []), ...datasets];
  use("license", "license");
  use("license_name", "license_name");
  use("license_link", "license_link");
  for (const [key, cardKey] of [["tags", "tags"], ["tags", "pipeline_tag"], ["languages", "languages"], ["languages", "language"]] as const) {
    const value = card[cardKey];
    if (value === undefined || value === null) continue;
    if (typeof value === "string" || Array.isArray(value)) meta[key] = [...(meta[key] ?? []), ...asList(value)];
  }
}

function applyModelId(meta: Authorship, modelId: string, totalParams: number): void {
  const components = modelIdComponents(modelId, totalParams);
  if (meta.name === undefined && components.fullName !== undefined) meta.name = idToTitle(components.fullName);
  if (meta.organization === undefined && components.organization !== undefined) meta.organization = idToTitle(components.organization);
  meta.basename ??= components.basename;
  meta.finetune ??= components.finetune;
  meta.version ??= components.version;
  meta.size_label ??= components.sizeLabel;
}

/**
 * The authorship and sampling keys, in set_gguf_meta_model's order, for a converted model or adapter
 * whose model card sits in `folder`. `totalParams` is gguf-py's count (negative for a LoRA adapter).
 */
export function authorshipMetadata(folder: string, totalParams: number): Entry[] {
  const meta: Authorship = {};
  applyModelCard(meta, readModelCard(folder), totalParams);
  const nameOrPath = readJson(resolve(folder, "config.json"))._name_or_path;
  if (typeof nameOrPath === "string" && (nameOrPath.match(/\//g) ?? []).length <= 1) applyModelId(meta, nameOrPath, totalParams);
  applyModelId(meta, basename(resolve(folder)), totalParams);
  const entries: Entry[] = samplingMetadata(readJson(resolve(folder, "generation_config.json")));
  // GGUFWriter.add_string and add_array skip empty values
  const text = (key: string, value: unknown) => {
    if (value !== undefined && value !== null && String(value) !== "") entries.push([key, { type: "string", value: String(value) }]);
  };
  text("general.name", meta.name);
  text("general.author", meta.author);
  text("general.version", meta.version);
  text("general.organization", meta.organization);
  text("general.finetune", meta.finetune);
  text("general.basename", meta.basename);
  text("general.description", meta.description);
  text("general.size_label", meta.size_label);
  text("general.license", Array.isArray(meta.license) ? meta.license.join(",") : meta.license);
  text("general.license.name", meta.license_name);
  text("general.license.link", meta.license_link);
  text("general.source.url", meta.source_url);
  text("general.source.doi", meta.source_doi);
  text("general.source.uuid", meta.source_uuid);
  text("general.source.repo_url", meta.source_repo_url);
  for (const [group, references] of [["base_model", meta.base_models], ["dataset", meta.datasets]] as const) {
    if (!references) continue;
    entries.push([`general.${group}.count`, { type: "uint32", value: references.length }]);
    references.forEach((reference, i) => {
      for (const field of ["name", "author", "version", "organization", "description", "url", "doi", "uuid", "repo_url"] as const) text(`general.${group}.${i}.${field}`, reference[field]);
    });
  }
  for (const [key, values] of [["general.tags", meta.tags], ["general.languages", meta.languages]] as const) {
    if (values && values.length > 0) entries.push([key, { type: "array", value: { elementType: "string", values: values.map(String) } }]);
  }
  return entries;
}
