// Point 7 of issue 13: multiple choice as lm-evaluation-harness scores and lays it out.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/eval.js";
import { describeError } from "../../src/cli/main.js";
import { evaluateMultipleChoice, hellaswagPreprocess, loadMultipleChoiceItems } from "../../src/eval/likelihood/multiple-choice.js";
import type { LanguageModel, LogLikelihoodRequest } from "../../src/spec/index.js";
import { captureIo } from "../support/capture-io.js";
import { scriptedModel } from "../support/scripted-model.js";
import { temporaryDirectory } from "./fixtures.js";

let directory = temporaryDirectory();
afterEach(() => {
  directory.remove();
  directory = temporaryDirectory();
});

/** Log-probability of each character: depends on the character only ("a" -0.7, " " -0.5, "b" -0.1). */
const charLogprob = (c: string) => -0.1 * ((c.codePointAt(0)! % 7) + 1);

function characterModel(requests: LogLikelihoodRequest[] = []): LanguageModel {
  return {
    ...scriptedModel({ modelId: "chars" }),
    async logLikelihood(batch) {
      requests.push(...batch);
      return batch.map((r) => ({ logprob: [...r.continuation].reduce((sum, c) => sum + charLogprob(c), 0), tokenCount: [...r.continuation].length, isGreedy: false }));
    },
  };
}

function writeRows(rows: unknown[]): string {
  const path = join(directory.path, "bench.jsonl");
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join("\n"));
  return path;
}

describe("acc_norm as lm-evaluation-harness: lls / len(choice)", () => {
  it("divides by the choice's length, not by the length of \" \" + choice", async () => {
    // " a": -1.2 over 1 character = -1.2; " aaa": -2.6 over 3 = -0.867, so "aaa" wins per character.
    // Dividing by " "+choice instead (2 and 4 characters) would pick "a" (-0.6 against -0.65).
    const requests: LogLikelihoodRequest[] = [];
    const result = await evaluateMultipleChoice(characterModel(requests), [{ id: "q", context: "Q", choices: ["a", "aaa"], answer: 1 }]);
    expect(requests.map((r) => r.continuation)).toEqual([" a", " aaa"]);
    expect(result.perItem[0].logprobs[0]).toBeCloseTo(-1.2, 12);
    expect(result.perItem[0].logprobs[1]).toBeCloseTo(-2.6, 12);
    expect(result.perItem[0].predicted).toBe(0);
    expect(result.perItem[0].predictedNormalized).toBe(1);
    expect(result.normalizedAccuracy).toBe(1);
    expect(result.method).toContain("len(choice)");
  });

  it("counts characters as Python's len does (code points, not UTF-16 units)", async () => {
    // "😀" (-0.7) is one character to Python, two UTF-16 units to JavaScript's .length.
    // Per Python character: " 😀" -1.2 / 1 = -1.2 against " aa" -1.9 / 2 = -0.95, so "aa" wins;
    // per UTF-16 unit the emoji would win (-0.6).
    const result = await evaluateMultipleChoice(characterModel(), [{ id: "q", context: "Q", choices: ["😀", "aa"], answer: 1 }]);
    expect(result.perItem[0].logprobs[0]).toBeCloseTo(-1.2, 12);
    expect(result.perItem[0].predictedNormalized).toBe(1);
  });
});

describe("the harness's prompt layouts", () => {
  it("HellaSwag: preprocess(activity_label + ': ' + ctx_a + ' ' + ctx_b.capitalize()), endings preprocessed", () => {
    const path = writeRows([
      {
        ind: 24,
        activity_label: "Roof shingle removal",
        ctx_a: "A man is sitting on a roof.",
        ctx_b: "he",
        ctx: "A man is sitting on a roof. he",
        endings: ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.", "is holding a rubik's cube.", "starts pulling up roofing on a roof."],
        label: "3",
      },
      {
        ind: 7,
        activity_label: "Health",
        ctx_a: "[header] How to treat a burn [title] Cool the burn.",
        ctx_b: "[step] hold the burn under COOL water.",
        endings: ["[substeps] Run it for 10 minutes.", "Put ice on it. [title] Done.", " x ", "y"],
        label: 0,
      },
    ]);
    const [roof, burn] = loadMultipleChoiceItems(path);
    expect(roof).toMatchObject({ id: "24", context: "Roof shingle removal: A man is sitting on a roof. He", answer: 3, layout: "hellaswag" });
    expect(roof.choices[3]).toBe("starts pulling up roofing on a roof.");
    // By hand: " [title]" → ". ", brackets removed, double spaces halved; capitalize() lowercases the rest.
    expect(burn.context).toBe("Health: How to treat a burn. Cool the burn. hold the burn under cool water.");
    expect(burn.choices).toEqual([" Run it for 10 minutes.", "Put ice on it.. Done.", "x", "y"]);
    expect(hellaswagPreprocess("  a  [x]b  ")).toBe("a b");
  });

  it("MMLU: the subject's description, lettered choices and \" A\"/\" B\" continuations; --layout continuation is mmlu_continuation", async () => {
    const row = { question: " What is 2+2? ", subject: "elementary_mathematics", choices: ["3", "4", "5", "6"], answer: 1 };
    const path = writeRows([row]);
    const [item] = loadMultipleChoiceItems(path);
    expect(item.context).toBe(
      "The following are multiple choice questions (with answers) about elementary mathematics.\n\nWhat is 2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:",
    );
    expect(item.choices).toEqual(["A", "B", "C", "D"]);
    expect(item.layout).toBe("mmlu");
    const requests: LogLikelihoodRequest[] = [];
    const result = await evaluateMultipleChoice(characterModel(requests), [item]);
    expect(requests.map((r) => r.continuation)).toEqual([" A", " B", " C", " D"]);
    expect(result.layouts).toEqual({ mmlu: 1 });

    const [continuation] = loadMultipleChoiceItems(path, { layout: "continuation" });
    expect(continuation.context).toBe("The following are questions (with answers) about elementary mathematics.\n\nQuestion: What is 2+2?\nAnswer:");
    expect(continuation.choices).toEqual(["3", "4", "5", "6"]);
    expect(continuation.layout).toBe("mmlu_continuation");
  });

  it("ARC and our own rows are laid out as before; the CLI refuses an unknown layout and documents the flag", async () => {
    const path = writeRows([
      { id: "arc1", question: "Which is a gas?", choices: { text: ["ice", "steam"], label: ["A", "B"] }, answerKey: "B" },
      { context: "Sky is", choices: ["blue", "green"], answer: 0 },
    ]);
    expect(loadMultipleChoiceItems(path).map((i) => [i.context, i.layout])).toEqual([
      ["Question: Which is a gas?\nAnswer:", "arc"],
      ["Sky is", "as given"],
    ]);
    const capture = captureIo();
    let code = 0;
    try {
      code = await run(["mc", "--benchmark", path, "--layout", "few-shot", "--model", "x.gguf"], capture.io);
    } catch (error) {
      capture.io.stderr(describeError(error));
      code = 1;
    }
    expect(code).toBe(1);
    expect(capture.stderr()).toMatch(/--layout must be harness or continuation, got "few-shot"/);
    const help = captureIo();
    await run(["mc", "--help"], help.io);
    expect(help.stdout()).toMatch(/--layout harness .*\(default\)/);
    expect(help.stdout()).toMatch(/never parsed/);
  });
});
