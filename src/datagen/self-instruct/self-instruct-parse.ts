import { collapseWhitespace, pythonStrip } from "../text/python-compat.js";

/** Python's str.capitalize(): first character upper case, the rest lower case (as Self-Instruct applies it). */
export function pythonCapitalize(text: string): string {
  if (text.length === 0) return text;
  const first = String.fromCodePoint(text.codePointAt(0)!);
  return first.toUpperCase() + text.slice(first.length).toLowerCase();
}

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
 * on "\n<number>. ", collapse whitespace, strip, capitalize, drop empties.
 */
export function parseSelfInstructCompletion(text: string, finishReason: string): { instructions: string[]; truncated: boolean } {
  if (finishReason === "length") return { instructions: [], truncated: true };
  const instructions = text
    .split(/\n\d+\s?\. /)
    .map((piece) => pythonCapitalize(pythonStrip(collapseWhitespace(piece))))
    .filter((piece) => piece !== "");
  return { instructions, truncated: false };
}

/** Step 2's answer: "Yes" in any of Self-Instruct's accepted spellings. */
export function parseIsClassification(answer: string): boolean {
  return ["Yes", "yes", "YES"].includes(answer.trim());
}

export interface Instance {
  input: string;
  output: string;
}

/** Step 3, generation tasks (input-first): "Example N / Input: … / Output: …", or a bare output. */
export function parseInputFirstInstances(raw: string): Instance[] {
  const pieces = raw.split(/Example\s?\d+\.?\s*/).map((piece) => piece.trim()).filter(Boolean);
  return pieces.map((piece) => {
    const outputAt = piece.indexOf("Output:");
    if (outputAt < 0) return { input: "", output: piece.replace(/^Input:\s*/, "").trim() };
    const input = piece.slice(0, outputAt).trim().replace(/^Input:\s*/, "").trim();
    return { input, output: piece.slice(outputAt + "Output:".length).trim() };
  });
}

/** Step 3, classification tasks (output-first): "Class label: X / Input: …" pairs. */
export function parseOutputFirstInstances(raw: string): Instance[] {
  const pieces = raw.split(/Class label:/).slice(1);
  return pieces.map((piece) => {
    const [labelLine, ...rest] = piece.split("\n");
    const input = rest.join("\n").trim().replace(/^(Input|Sentence|Text):\s*/, "").trim();
    return { input, output: labelLine.trim() };
  });
}

export type InstanceRejection = "empty-output" | "input-equals-output" | "conflicting-outputs" | "duplicate-instance";

/**
 * Step 4's instance filters: drop empty outputs, outputs equal to the input, exact duplicates, and
 * every instance of an input that was given different outputs (the teacher contradicted itself).
 */
export function filterInstances(instances: Instance[], maxInstances: number): { kept: Instance[]; rejected: { instance: Instance; reason: InstanceRejection }[] } {
  const rejected: { instance: Instance; reason: InstanceRejection }[] = [];
  const outputsByInput = new Map<string, Set<string>>();
  for (const instance of instances) {
    if (!outputsByInput.has(instance.input)) outputsByInput.set(instance.input, new Set());
    outputsByInput.get(instance.input)!.add(instance.output);
  }
  const seen = new Set<string>();
  const kept: Instance[] = [];
  for (const instance of instances) {
    const key = JSON.stringify([instance.input, instance.output]);
    if (instance.output === "") rejected.push({ instance, reason: "empty-output" });
    else if (instance.input !== "" && instance.input === instance.output) rejected.push({ instance, reason: "input-equals-output" });
    else if (outputsByInput.get(instance.input)!.size > 1) rejected.push({ instance, reason: "conflicting-outputs" });
    else if (seen.has(key)) rejected.push({ instance, reason: "duplicate-instance" });
    else {
      seen.add(key);
      if (kept.length < maxInstances) kept.push(instance);
    }
  }
  return { kept, rejected };
}
