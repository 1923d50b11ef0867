// gguf-py Metadata.get_model_id_components and id_to_title: what convert_hf_to_gguf.py reads from a
// model folder's name ("TinyLlama-1.1B-Chat-v1.0" → basename TinyLlama, size label 1.1B, finetune Chat,
// version v1.0) for general.name, general.basename, general.finetune, general.version, general.size_label.

export interface ModelNameComponents {
  name: string;
  organization?: string;
  basename?: string;
  finetune?: string;
  version?: string;
  sizeLabel?: string;
}

type PartType = "basename" | "size_label" | "finetune" | "version" | "type";

const isDecimal = (character: string | undefined) => character !== undefined && /^[0-9]$/.test(character);
const isAlpha = (character: string) => /^\p{L}$/u.test(character);

/** Python's str.title() for one word: each run of letters gets an upper first letter, lower rest. */
function titleWord(word: string): string {
  return word.toLowerCase().replace(/(^|[^\p{L}])(\p{L})/gu, (_, before: string, letter: string) => before + letter.toUpperCase());
}

/** Metadata.id_to_title: "tiny-llama-v1.1" → "Tiny Llama v1.1" (acronyms and versions kept as they are). */
export function idToTitle(id: string): string {
  return id
    .trim()
    .replaceAll("-", " ")
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => (word === word.toLowerCase() && word !== word.toUpperCase() && !/^(v\d+(?:\.\d+)*|\d.*)$/.test(word) ? titleWord(word) : word))
    .join(" ");
}

/** Python's float() of a size label's number part, or undefined where float() raises ValueError. */
function pythonFloat(text: string): number | undefined {
  return /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(text) ? Number(text) : undefined;
}

/** Metadata.get_model_id_components (totalParameters > 0 for a model). */
export function modelIdComponents(modelId: string, totalParameters: number): ModelNameComponents {
  if (modelId.includes(" ")) return { name: modelId };
  let organization: string | undefined;
  let fullName = modelId;
  const slash = modelId.indexOf("/");
  if (slash >= 0) {
    organization = modelId.slice(0, slash);
    fullName = modelId.slice(slash + 1);
  }
  if (organization !== undefined && organization.startsWith(".")) organization = undefined;
  const parts = fullName.split("-").filter((part) => part.length > 0);
  const types: Set<PartType>[] = parts.map(() => new Set());
  parts.forEach((part, i) => {
    if (/^(v|iter)?\d+([.]\d+)*$/i.test(part)) types[i].add("version");
    else if (/^(i?q\d(_\w)*|b?fp?(16|32))$/i.test(part)) {
      types[i].add("type");
      parts[i] = part.toUpperCase();
    } else if (i > 0 && /^((([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?)|small|mini|medium|large|x?xl)$/i.test(part)) {
      let label = part.replaceAll("_", ".");
      // bloom-7b1 notation
      if (isDecimal(label[label.length - 1])) label = label.slice(0, -2) + "." + label[label.length - 1] + label[label.length - 2];
      if (label.length > 1 && isDecimal(label[label.length - 2]) && "kmbt".includes(label[label.length - 1])) label = label.slice(0, -1) + label[label.length - 1].toUpperCase();
      if (totalParameters !== 0) {
        const number = pythonFloat(label.slice(0, -1));
        if (number !== undefined) {
          const labelParameters = number * Math.pow(1000, " KMBT".indexOf(label[label.length - 1]));
          const far =
            (totalParameters < 0 && labelParameters < Math.floor(Math.abs(totalParameters) / 8)) ||
            (totalParameters > 0 && Math.abs(labelParameters - totalParameters) > Math.floor((7 * totalParameters) / 8));
          if (far) {
            // likely a context length
            types[i].add("finetune");
            label = label.slice(0, -1) + label[label.length - 1].toLowerCase();
          }
        }
      }
      if (types[i].size === 0) types[i].add("size_label");
      parts[i] = label;
    } else if (i > 0 && /^(chat|instruct|vision|lora)$/i.test(part)) {
      types[i].add(totalParameters < 0 && part.toLowerCase() === "lora" ? "type" : "finetune");
    }
  });
  // word-based size labels give way to a number-based one
  if (parts.some((part, i) => types[i].has("size_label") && [...part].some(isDecimal))) {
    parts.forEach((part, i) => {
      if (types[i].has("size_label") && [...part].every(isAlpha)) types[i].delete("size_label");
    });
  }
  let atStart = true;
  parts.forEach((part, i) => {
    if (atStart && ((types[i].size === 0 && isAlpha(part[0])) || types[i].has("version"))) types[i].add("basename");
    else {
      atStart = false;
      if (types[i].size === 0) types[i].add("finetune");
    }
  });
  for (let i = parts.length - 1; i >= 0; i--) {
    if (types[i].has("basename") && types[i].size > 1) types[i].delete("basename");
    else break;
  }
  const join = (values: string[]) => (values.length > 0 ? values.join("-") : undefined);
  let basename = join(parts.filter((_, i) => types[i].has("basename")));
  const sizeLabel = join([...new Set(parts.filter((_, i) => types[i].has("size_label")))]);
  const finetune = join(parts.filter((_, i) => types[i].has("finetune")));
  const version = join(parts.filter((_, i) => types[i].has("version") && !types[i].has("basename")));
  if (sizeLabel === undefined && finetune === undefined && version === undefined) basename = undefined;
  return {
    name: fullName,
    ...(organization !== undefined ? { organization } : {}),
    ...(basename !== undefined ? { basename } : {}),
    ...(finetune !== undefined ? { finetune } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(sizeLabel !== undefined ? { sizeLabel } : {}),
  };
}
