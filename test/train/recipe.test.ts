// `camelid train --config recipe.yaml`: a recipe's keys are the flags, validated by the one training
// schema with the file and line of a bad key; flags override keys; every run saves its resolved recipe,
// and --resume reads it back and refuses a changed setting by name.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { run } from "../../src/cli/commands/train.js";
import { TrainingRecipeError } from "../../src/train/errors.js";
import { flagLayer, mergeSettings, readRecipeFile, recipeOf, validateSettings } from "../../src/train/recipe.js";
import { captureIo } from "../support/capture-io.js";
import { stories260KPath } from "../support/shared-data.js";
import { writeChatRows } from "./support/chat-rows.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-train-recipe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dataPath = writeChatRows(join(dir, "data.jsonl"), [
  ["Who are you?", "I am Camelid."],
  ["What do you eat?", "Grass and hay."],
]);

function recipeFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const fromFlags = (argv: Record<string, string | boolean>) => validateSettings(mergeSettings([flagLayer(argv, dir)]));
const fromRecipe = (path: string) => validateSettings(mergeSettings([readRecipeFile(path, { baseDir: dir })]));

async function failure(argv: string[]): Promise<Error> {
  return run(argv, captureIo().io).then(
    () => {
      throw new Error("expected an error");
    },
    (error: Error) => error,
  );
}

describe("training recipes", () => {
  it("a recipe (kebab-case, camelCase, lists, JSON) resolves to the same settings as the equivalent flags", () => {
    const flags = fromFlags({
      model: "m.gguf", data: "data.jsonl", out: "run", "prompt-format": "alpaca", lr: "0.0001", "grad-accum": "4", targets: "q,v,down",
      "max-steps": "7", packing: true, "val-fraction": "0", dropout: "0.1", "on-mismatch": "segments",
    });
    const yaml = recipeFile("same.yaml", [
      "# a comment", "model: m.gguf", "data: data.jsonl", "out: run", "prompt-format: alpaca", "lr: 1e-4", "gradAccum: 4",
      "targets: [q, v, down]", "maxSteps: 7", "packing: true", "val-fraction: 0", "dropout: 0.1", "onMismatch: segments", "",
    ].join("\n"));
    const json = recipeFile("same.json", JSON.stringify({ model: "m.gguf", data: "data.jsonl", out: "run", "prompt-format": "alpaca", lr: 1e-4, "grad-accum": 4, targets: "q,v,down", "max-steps": 7, packing: true, "val-fraction": 0, dropout: 0.1, "on-mismatch": "segments" }));
    expect(fromRecipe(yaml)).toEqual(flags);
    expect(fromRecipe(json)).toEqual(flags);
    expect(flags).toMatchObject({ modelPath: join(dir, "m.gguf"), learningRate: 1e-4, gradientAccumulation: 4, targets: ["q", "v", "down"], maxSteps: 7, rank: 8 });
    // a flag overrides the file's key; the file's other keys stay
    const merged = validateSettings(mergeSettings([readRecipeFile(yaml, { baseDir: dir }), flagLayer({ lr: "0.003", "batch-size": "2" }, dir)]));
    expect(merged).toEqual({ ...flags, learningRate: 0.003, batchSize: 2 });
  });

  it("refuses a wrong type, a value out of range, an unknown key, a key given twice and a non-mapping, naming file, line and key", async () => {
    const cases: [text: string, message: RegExp, key: string, line: number | undefined][] = [
      ["data: d.jsonl\nout: o\nrank: eight\n", /bad\.yaml:3: rank must be a number, got "eight"/, "rank", 3],
      ["data: d.jsonl\npacking: yes please\n", /bad\.yaml:2: packing must be true or false, got "yes please"/, "packing", 2],
      ["data: d.jsonl\ntargets: [q, x]\n", /bad\.yaml:2: targets must be one of q, k, v, o, gate, up, down, lm_head, got "x"/, "targets", 2],
      ["data: d.jsonl\nout: o\nmodel: m.gguf\n\ndropout: 1.5\n", /bad\.yaml:5: dropout is invalid: too big: expected number to be <1/, "dropout", 5],
      ["data: d.jsonl\nbatchSize: 2.5\nout: o\nmodel: m\n", /bad\.yaml:2: batchSize is invalid: .*int/, "batchSize", 2],
      ["data: d.jsonl\nlearning_rate: 0.1\n", /bad\.yaml:2: unknown key "learning_rate" \(did you mean "lr"\?\)/, "learning_rate", 2],
      ["data: d.jsonl\n\nweight-decy: 0.1\n", /bad\.yaml:3: unknown key "weight-decy" \(did you mean "weight-decay"\?\)/, "weight-decy", 3],
      ["max-steps: 1\ndata: d.jsonl\nmaxSteps: 2\n", /bad\.yaml:3: maxSteps sets max-steps, which line 1 already set \(max-steps\)/, "maxSteps", 3],
      ["data: d.jsonl\nlearningRate: 0.2\n", /bad\.yaml:2: unknown key "learningRate" \(did you mean "lr"\?\)/, "learningRate", 2],
      ["lr: 0.1\nlr: 0.2\n", /bad\.yaml:2: not valid YAML: Map keys must be unique/, "config", 2],
      ["- model: m\n", /bad\.yaml:1: a recipe is a mapping of settings/, "config", 1],
      ["max-steps:\n", /bad\.yaml:1: max-steps has no value/, "max-steps", 1],
    ];
    const path = join(dir, "bad.yaml");
    for (const [text, message, key, line] of cases) {
      writeFileSync(path, text);
      const error = await failure(["--config", path, "--model", "m.gguf"]);
      expect(error, text).toBeInstanceOf(TrainingRecipeError);
      expect(error.message, text).toMatch(message);
      expect((error as TrainingRecipeError).parameter, text).toBe(key);
      expect((error as TrainingRecipeError).line, text).toBe(line);
    }
    // a value from a flag is named by its flag; a required setting missing from both says so
    expect((await failure(["--config", recipeFile("ok.yaml", "data: d.jsonl\nout: o\n"), "--model", "m.gguf", "--rank", "0"])).message).toMatch(/^--rank is invalid: too small/);
    expect((await failure(["--config", recipeFile("ok.yaml", "data: d.jsonl\nout: o\n")])).message).toBe("--model is required (camelid train --help)");
    expect((await failure(["--config", join(dir, "missing.yaml")])).message).toMatch(/cannot read the recipe .*missing\.yaml: ENOENT/);
  });

  it("trains end to end from --config with a flag overriding a key, saves the resolved recipe, and --resume reads it back", async () => {
    const outDir = join(dir, "run");
    const recipe = recipeFile("recipe.yaml", [
      `model: ${stories260KPath()}`, `data: ${dataPath}`, `out: ${outDir}`, "prompt-format: llama-2-chat",
      "max-steps: 2", "batchSize: 2", "val-fraction: 0", "seed: 3", "lr: 0.5", "targets: [q, v]", "",
    ].join("\n"));
    const first = captureIo();
    expect(await run(["--config", recipe, "--lr", "0.01"], first.io)).toBe(0);
    expect(first.stdout()).toContain("trained 2 step(s) of 2");
    const finalLoss = /final loss (\d+\.\d{4})/.exec(first.stdout())![1];

    const savedText = readFileSync(join(outDir, "recipe.yaml"), "utf8");
    const saved = parse(savedText) as Record<string, unknown>;
    const runJson = JSON.parse(readFileSync(join(outDir, "run.json"), "utf8")) as { recipe: Record<string, unknown>; config: Parameters<typeof recipeOf>[0] };
    // after defaults, file and flags: the flag's lr, the file's targets, the defaults' rank
    expect(saved).toMatchObject({ model: stories260KPath(), data: dataPath, out: outDir, lr: 0.01, targets: ["q", "v"], "max-steps": 2, "batch-size": 2, rank: 8, alpha: 16, "weight-decay": 0.01 });
    expect(saved).not.toHaveProperty("resume");
    expect(saved).toEqual(recipeOf(runJson.config));
    expect(runJson.recipe).toEqual(saved);

    // --resume with nothing but --out takes every setting from the saved recipe
    const resumed = captureIo();
    expect(await run(["--resume", "--out", outDir, "--checkpoint-activations"], resumed.io)).toBe(0);
    expect(resumed.stdout()).toContain("trained 0 step(s) of 2");
    expect(resumed.stdout()).toContain(`final loss ${finalLoss}`);

    // a changed setting, from a flag or from a recipe, is refused naming it and the saved line
    const lrLine = savedText.split("\n").findIndex((line) => line.startsWith("lr:")) + 1;
    await expect(run(["--resume", "--out", outDir, "--lr", "0.02"], captureIo().io)).rejects.toThrow(
      new RegExp(`^--resume: lr is 0.02 here, but the run has 0.01 \\(.*recipe\\.yaml:${lrLine}: lr\\)`),
    );
    await expect(run(["--resume", "--config", recipe], captureIo().io)).rejects.toThrow(/^--resume: lr is 0.5 here, but the run has 0.01/);
    await expect(run(["--resume", "--out", outDir, "--max-length", "64"], captureIo().io)).rejects.toThrow(/^--resume: max-length is 64 here, but the run has 512/);
    // the saved recipe repeats the run (into another folder)
    const again = captureIo();
    expect(await run(["--config", join(outDir, "recipe.yaml"), "--out", join(dir, "again")], again.io)).toBe(0);
    expect(again.stdout()).toContain(`final loss ${finalLoss}`);
  }, 120_000);
});
