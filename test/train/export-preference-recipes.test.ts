import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { run } from "../../src/cli/commands/train.js";
import { UnsupportedFeatureError } from "../../src/errors/index.js";
import { NoUsableRowsError } from "../../src/datagen/formats/data-file-errors.js";
import { readPreferencePairs } from "../../src/train/preference-rows.js";
import { recipeChatTemplates, withoutGenerationMarkers } from "../../src/train/recipe-templates.js";
import { captureIo } from "../support/capture-io.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-preference-recipes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// The recipes as reviewed against trl's DPOConfig/RewardConfig and axolotl's rl/reward_model docs.
const expected = (name: string) => readFileSync(join(import.meta.dirname, "expected", name), "utf8");

/** trl rows: a system prompt with history, a plain string prompt with a margin, and one unusable pair (line 3). */
const pairsPath = join(dir, "pairs.jsonl");
writeFileSync(
  pairsPath,
  [
    { prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }, { role: "assistant", content: "Hello." }, { role: "user", content: "Name?" }], chosen: [{ role: "assistant", content: "Camelid." }], rejected: [{ role: "assistant", content: "I am a large language model trained to help." }] },
    { prompt: "2+2?", chosen: "4", rejected: "5", margin: 2 },
    { prompt: "same", chosen: "x", rejected: "x" },
  ]
    .map((row) => JSON.stringify(row))
    .join("\n"),
);
/** Single-turn pairs without margins: what axolotl's bradley_terry.chat_template can hold. */
const singleTurnPath = join(dir, "single.json");
writeFileSync(
  singleTurnPath,
  JSON.stringify([
    { instruction: "Who are you?", input: "", chosen: "Camelid.", rejected: "Nobody.", system: "Be brief." },
    { instruction: "Add", input: "1 2", chosen: "3", rejected: "12" },
  ]),
);
const sftPath = join(dir, "alpaca.json");
writeFileSync(sftPath, JSON.stringify([{ instruction: "Who are you?", input: "", output: "I am Camelid." }]));

const common = ["--base-model", "meta-llama/Llama-2-7b-hf", "--prompt-format", "vicuna-v1.1", "--rank", "16", "--alpha", "32", "--targets", "q,v", "--lr", "5e-6", "--val-fraction", "0.1", "--seed", "7"];

async function exportTo(name: string, args: string[]) {
  const out = join(dir, name);
  const { io, stdout, stderr } = captureIo();
  const code = await run([...args, "--out", out, ...common], io);
  const rows = readFileSync(join(out, "train.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  return { code, out, rows, stdout: stdout(), stderr: stderr() };
}

/** The scripts parse as Python when a python3 is at hand (one process for all); the suite itself does not need one. */
function parsesAsPython(paths: string[]): boolean | undefined {
  try {
    execFileSync("python3", ["-c", "import ast, sys\nfor path in sys.argv[1:]: ast.parse(open(path).read(), path)", ...paths], { stdio: ["ignore", "ignore", "pipe"] });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

describe("camelid train --method dpo|reward --export", () => {
  it("trl dpo: DPOTrainer + DPOConfig with the DPO flags one to one, the pairs as conversational prompt/chosen/rejected", async () => {
    const result = await exportTo("trl-dpo", ["--method", "dpo", "--export", "trl", "--data", pairsPath, "--beta", "0.25", "--label-smoothing", "0.1"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/skipped .*pairs.jsonl:3: the chosen and rejected answers are identical/);
    expect(result.stdout).toContain("wrote 2 preference pairs (trl layout)");
    expect(result.stdout).toContain("beta 0.25, loss sigmoid, label smoothing 0.1");
    const { pairs } = readPreferencePairs(pairsPath);
    expect(result.rows).toEqual(pairs.map((pair) => ({ prompt: pair.prompt, chosen: [{ role: "assistant", content: pair.chosen }], rejected: [{ role: "assistant", content: pair.rejected }] })));
    const script = readFileSync(join(result.out, "train_trl.py"), "utf8");
    expect(script).toBe(expected("dpo-train_trl.py"));
    expect(script).toContain("beta=0.25,\n    loss_type=\"sigmoid\",\n    label_smoothing=0.1,");
  });

  it("trl dpo: --dpo-loss ipo and the defaults (beta 0.1, label smoothing 0)", async () => {
    const result = await exportTo("trl-ipo", ["--method", "dpo", "--export", "trl", "--data", pairsPath, "--dpo-loss", "ipo"]);
    const script = readFileSync(join(result.out, "train_trl.py"), "utf8");
    expect(script).toContain("beta=0.1,\n    loss_type=\"ipo\",\n    label_smoothing=0,");
  });

  it("trl reward: RewardTrainer + RewardConfig, implicit-prompt conversations with the margin column where a pair has one", async () => {
    const result = await exportTo("trl-reward", ["--method", "reward", "--export", "trl", "--data", pairsPath]);
    expect(result.code).toBe(0);
    const { pairs } = readPreferencePairs(pairsPath);
    expect(result.rows).toEqual(
      pairs.map((pair) => ({
        chosen: [...pair.prompt, { role: "assistant", content: pair.chosen }],
        rejected: [...pair.prompt, { role: "assistant", content: pair.rejected }],
        ...(pair.margin !== undefined ? { margin: pair.margin } : {}),
      })),
    );
    expect(result.rows[1].margin).toBe(2);
    const script = readFileSync(join(result.out, "train_trl.py"), "utf8");
    expect(script).toBe(expected("reward-train_trl.py"));
  });

  it("axolotl dpo: rl: dpo with chat_template.default rows and camelid's LoRA and optimizer settings", async () => {
    const result = await exportTo("axolotl-dpo", ["--method", "dpo", "--export", "axolotl", "--data", pairsPath, "--beta", "0.3", "--dpo-loss", "ipo"]);
    expect(result.stdout).toContain("axolotl train axolotl.yml");
    const { pairs } = readPreferencePairs(pairsPath);
    expect(result.rows).toEqual(pairs.map((pair) => ({ messages: pair.prompt, chosen: { role: "assistant", content: pair.chosen }, rejected: { role: "assistant", content: pair.rejected } })));
    const text = readFileSync(join(result.out, "axolotl.yml"), "utf8");
    expect(text).toBe(expected("dpo-axolotl.yml"));
    const yaml = parseYaml(text) as Record<string, unknown>;
    expect(yaml).toMatchObject({
      base_model: "meta-llama/Llama-2-7b-hf",
      rl: "dpo",
      rl_beta: 0.3,
      dpo_loss_type: ["ipo"],
      dpo_label_smoothing: 0,
      datasets: [{ path: "train.jsonl", ds_type: "json", type: "chat_template.default", field_messages: "messages", field_chosen: "chosen", field_rejected: "rejected" }],
      chat_template: "jinja",
      chat_template_jinja: withoutGenerationMarkers(recipeChatTemplates["vicuna-v1.1"]),
      sample_packing: false,
      val_set_size: 0.1,
      sequence_len: 512,
      adapter: "lora",
      lora_r: 16,
      lora_alpha: 32,
      lora_target_modules: ["q_proj", "v_proj"],
      learning_rate: 5e-6,
      seed: 7,
    });
  });

  it("axolotl reward: reward_model: true with bradley_terry.chat_template rows (system, input, chosen, rejected)", async () => {
    const result = await exportTo("axolotl-reward", ["--method", "reward", "--export", "axolotl", "--data", singleTurnPath]);
    expect(result.rows).toEqual([
      { system: "Be brief.", input: "Who are you?", chosen: "Camelid.", rejected: "Nobody." },
      { system: "", input: "Add\n1 2", chosen: "3", rejected: "12" },
    ]);
    const text = readFileSync(join(result.out, "axolotl.yml"), "utf8");
    expect(text).toBe(expected("reward-axolotl.yml"));
    expect(parseYaml(text)).toMatchObject({
      model_type: "AutoModelForSequenceClassification",
      num_labels: 1,
      reward_model: true,
      datasets: [{ path: "train.jsonl", type: "bradley_terry.chat_template" }],
      lora_modules_to_save: ["score"],
      lora_r: 16,
    });
    expect(parseYaml(text)).not.toHaveProperty("rl");
  });

  it("the expected trl scripts are valid Python", () => {
    expect(parsesAsPython([join(import.meta.dirname, "expected", "dpo-train_trl.py"), join(import.meta.dirname, "expected", "reward-train_trl.py")])).not.toBe(false);
  });

  it("refuses what a recipe cannot carry, with named errors", async () => {
    const attempt = async (args: string[]) => {
      const { io } = captureIo();
      return run([...args, "--out", join(dir, "refused"), ...common], io).then(
        () => undefined,
        (error: Error) => error,
      );
    };
    const sftAsDpo = await attempt(["--method", "dpo", "--export", "trl", "--data", sftPath]);
    expect(sftAsDpo).toBeInstanceOf(NoUsableRowsError);
    expect(sftAsDpo?.message).toMatch(/no row has chosen and rejected answers/);
    expect((await attempt(["--method", "reward", "--export", "axolotl", "--data", pairsPath]))?.message).toMatch(/pairs.jsonl:1: axolotl's bradley_terry.chat_template takes one user turn/);
    const withMargin = join(dir, "margin.jsonl");
    writeFileSync(withMargin, JSON.stringify({ prompt: "q", chosen: "a", rejected: "b", margin: 1 }));
    const marginLost = await attempt(["--method", "reward", "--export", "axolotl", "--data", withMargin]);
    expect(marginLost).toBeInstanceOf(UnsupportedFeatureError);
    expect(marginLost?.message).toMatch(/margin.jsonl:1: axolotl's bradley_terry.chat_template has no margin column; use --export trl/);
    expect((await attempt(["--method", "ppo", "--export", "trl", "--data", pairsPath]))?.message).toMatch(/--method must be one of sft, dpo, reward/);
    expect((await attempt(["--method", "dpo", "--export", "trl", "--data", pairsPath, "--dpo-loss", "hinge"]))?.message).toMatch(/--dpo-loss must be one of sigmoid, ipo/);
    expect((await attempt(["--method", "dpo", "--export", "trl", "--data", pairsPath, "--beta", "0"]))?.message).toMatch(/--beta must be a number > 0/);
    expect((await attempt(["--method", "dpo", "--export", "trl", "--data", pairsPath, "--beta", "x"]))?.message).toMatch(/--beta must be a number, got "x"/);
    expect((await attempt(["--method", "dpo", "--export", "trl", "--data", pairsPath, "--label-smoothing", "0.5"]))?.message).toMatch(/--label-smoothing must be in \[0, 0.5\)/);
    expect((await attempt(["--method", "dpo", "--export", "trl", "--data", pairsPath, "--dpo-loss", "ipo", "--label-smoothing", "0.1"]))?.message).toMatch(/sigmoid loss only/);
    expect((await attempt(["--method", "reward", "--export", "trl", "--data", pairsPath, "--beta", "0.2"]))?.message).toMatch(/--beta is a DPO setting: it needs --method dpo/);
    // the SFT path names the way to a preference recipe
    expect((await attempt(["--export", "trl", "--data", pairsPath]))?.message).toMatch(/--method dpo\|reward --export trl\|axolotl/);
  });
});
