import { sampleWithoutReplacement } from "../random.js";
import { collapseWhitespace, PYTHON_WHITESPACE_CLASS, pythonCapitalize, pythonStrip } from "../../text/python-compat.js";

// Python's `\s` and `\d` on str are Unicode-aware: its whitespace and every decimal digit (Nd).
const SPACE = `[${PYTHON_WHITESPACE_CLASS}]`;
const NUMBERED_ITEM = new RegExp(`\\n\\p{Nd}+${SPACE}?\\. `, "u");
const EXAMPLE = new RegExp(`Example${SPACE}?\\p{Nd}*\\.?`, "u");
const OUTPUT = new RegExp(`Output${SPACE}*\\p{Nd}*${SPACE}*:`, "u");
const INPUT = new RegExp(`Input${SPACE}*\\p{Nd}*${SPACE}*:`, "u");
const LEADING_INPUT = new RegExp(`^Input${SPACE}*\\p{Nd}*${SPACE}*:`, "u");

/** Self-Instruct's step-1 prompt: "Come up with a series of tasks:" and numbered instructions, ending "{k+1}.". */
export function encodeSelfInstructPrompt(instructions: readonly string[], classification = false): string {
  let prompt = classification
    ? "Come up with a series of classification tasks. Try to specify the possible output labels when possible.\n"
    : "Come up with a series of tasks:\n";
  instructions.forEach((instruction, index) => {
    prompt += `${index + 1}. ${pythonStrip(collapseWhitespace(instruction)).replace(/:+$/, "")}\n`;
  });
  return `${prompt}${instructions.length + 1}.`;
}

/**
 * Self-Instruct's step-1 parsing: a completion cut by the length limit yields nothing; otherwise split
 * on "\n<number>. ", collapse whitespace, strip, capitalize (Python's str.capitalize), drop empties.
 */
export function parseSelfInstructCompletion(text: string, finishReason: string): { instructions: string[]; truncated: boolean } {
  if (finishReason === "length") return { instructions: [], truncated: true };
  const instructions = text
    .split(NUMBERED_ITEM)
    .map((piece) => pythonCapitalize(pythonStrip(collapseWhitespace(piece))))
    .filter((piece) => piece !== "");
  return { instructions, truncated: false };
}

/** Step 2's answer: "Yes" in any of Self-Instruct's accepted spellings, after Python's strip(). */
export function parseIsClassification(answer: string): boolean {
  return ["Yes", "yes", "YES"].includes(pythonStrip(answer));
}

export interface Instance {
  input: string;
  output: string;
}

/** prepare_for_finetuning.py's parse_input_output: the text before the first "Output N:" is the input. */
function parseInputOutput(text: string): Instance {
  let input = "";
  let output = pythonStrip(text);
  if (OUTPUT.test(text)) {
    const parts = text.split(OUTPUT);
    input = pythonStrip(parts[0]);
    output = pythonStrip(parts[1]);
  }
  // The teacher went on with another pair: keep only this one's output.
  if (INPUT.test(output)) output = pythonStrip(output.split(INPUT)[0]);
  return { input: pythonStrip(input.replace(LEADING_INPUT, "")), output };
}

/**
 * Step 3's input-first text of a generation task, parsed as prepare_for_finetuning.py does: split at
 * every "Example N", or one input/output pair when there is an "Output:" but no "Example"; prose
 * with neither yields nothing.
 */
export function parseGenerationInstances(raw: string): Instance[] {
  const text = pythonStrip(raw);
  if (EXAMPLE.test(text)) {
    return text.split(EXAMPLE).map(pythonStrip).filter((piece) => piece !== "").map(parseInputOutput).map(stripInstance);
  }
  if (OUTPUT.test(text)) return [stripInstance(parseInputOutput(text))];
  return [];
}

/**
 * Step 3's output-first text of a classification task: each "Class label:" starts an instance whose
 * first line (stripped) is the label and whose remaining lines are the input, field names such as
 * "Sentence:" included, as the original keeps them.
 */
export function parseClassificationInstances(raw: string): Instance[] {
  if (!raw.includes("Class label:")) return [];
  return raw.split("Class label:").slice(1).map((piece) => {
    const text = pythonStrip(piece);
    const newline = text.indexOf("\n");
    return newline < 0
      ? { input: "", output: text }
      : stripInstance({ input: text.slice(newline + 1), output: text.slice(0, newline) });
  });
}

function stripInstance(instance: Instance): Instance {
  return { input: pythonStrip(instance.input), output: pythonStrip(instance.output) };
}

/** Why step 4 dropped an instance (a task with nothing parseable counts once as "no-instances"). */
export type InstanceDrop =
  | "no-instances"
  | "truncated-last"
  | "input-equals-output"
  | "empty-output"
  | "ends-with-colon"
  | "conflicting-input"
  | "duplicate"
  | "over-cap";

export interface PreparedTask {
  instances: Instance[];
  dropped: Partial<Record<InstanceDrop, number>>;
}

/**
 * Step 4 for one task, as prepare_for_finetuning.py: parse (output-first for classification tasks,
 * input-first otherwise), drop the last instance of a completion cut by the length limit, drop
 * instances whose input equals the output, whose output is empty or whose input or output ends with
 * ":", drop the whole task when one non-empty input was given different outputs, remove duplicates,
 * and keep a random sample of at most `maxInstances`.
 *
 * The original removes duplicates with `list(set(...))`, whose order depends on Python's per-process
 * string hashing, before `random.sample` with the global generator seeded 123; no seed reproduces
 * that order. We keep the first of each duplicate and sample with `random` (the caller seeds it per
 * task), the same selection rule with a reproducible outcome.
 */
export function prepareTaskInstances(task: { raw: string; isClassification: boolean; finishReason: string | undefined }, maxInstances: number, random: () => number): PreparedTask {
  const dropped: PreparedTask["dropped"] = {};
  const drop = (reason: InstanceDrop, count = 1) => {
    if (count > 0) dropped[reason] = (dropped[reason] ?? 0) + count;
  };
  let instances = task.isClassification ? parseClassificationInstances(task.raw) : parseGenerationInstances(task.raw);
  if (instances.length === 0) {
    drop("no-instances");
    return { instances, dropped };
  }
  if (task.finishReason === "length") {
    instances = instances.slice(0, -1);
    drop("truncated-last");
  }
  instances = instances.filter((instance) => {
    if (instance.input === instance.output) drop("input-equals-output");
    else if (instance.output === "") drop("empty-output");
    else if (pythonStrip(instance.input).endsWith(":") || pythonStrip(instance.output).endsWith(":")) drop("ends-with-colon");
    else return true;
    return false;
  });
  const conflicting = instances.some((instance, i) => instance.input !== "" && instances.slice(0, i).some((earlier) => earlier.input === instance.input && earlier.output !== instance.output));
  if (conflicting) {
    drop("conflicting-input", instances.length);
    return { instances: [], dropped };
  }
  const seen = new Set<string>();
  const unique = instances.filter((instance) => {
    const key = JSON.stringify([instance.input, instance.output]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  drop("duplicate", instances.length - unique.length);
  const sampled = sampleWithoutReplacement(unique, Math.min(unique.length, maxInstances), random);
  drop("over-cap", unique.length - sampled.length);
  return { instances: sampled, dropped };
}
