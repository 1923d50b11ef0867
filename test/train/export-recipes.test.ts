import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/train.js";
import { getPromptFormat } from "../../src/prompts/index.js";
import type { ChatMessage } from "../../src/spec/messages.js";
import { recipeChatTemplates, withoutGenerationMarkers } from "../../src/train/recipe-templates.js";
import { captureIo } from "../support/capture-io.js";
import { stories260KPath } from "../support/shared-data.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-recipes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const conversations: ChatMessage[][] = [
  [{ role: "user", content: "Who are you?" }, { role: "assistant", content: "I am Camelid." }],
  [
    { role: "system", content: "Be brief." },
    { role: "user", content: " Hi " },
    { role: "assistant", content: "Hello." },
    { role: "user", content: "Name?" },
    { role: "assistant", content: "Camelid." },
  ],
];

describe("recipe chat templates render exactly what camelid trains on", () => {
  for (const [name, template] of Object.entries(recipeChatTemplates)) {
    it(name, () => {
      const jinja = new Template(withoutGenerationMarkers(template));
      for (const messages of conversations) {
        const ours = getPromptFormat(name).render(messages, { addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>" }).text;
        expect(jinja.render({ messages, bos_token: "<s>", eos_token: "</s>", add_generation_prompt: false })).toBe(ours);
        const prompt = messages.slice(0, -1);
        const ourPrompt = getPromptFormat(name).render(prompt, { addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>" }).text;
        expect(jinja.render({ messages: prompt, bos_token: "<s>", eos_token: "</s>", add_generation_prompt: true })).toBe(ourPrompt);
      }
      // the trained part is marked for TRL's assistant_only_loss
      expect(template).toContain("{% generation %}");
    });
  }
});

describe("camelid train --export", () => {
  const dataPath = join(dir, "alpaca.json");
  writeFileSync(dataPath, JSON.stringify([{ instruction: "Who are you?", input: "", output: "I am Camelid." }, { instruction: "Add", input: "1 2", output: "3" }, { instruction: "bad" }]));

  it("axolotl: the dataset as messages JSONL and a YAML recipe with our settings", async () => {
    const out = join(dir, "axolotl");
    const { io, stdout, stderr } = captureIo();
    const code = await run(["--export", "axolotl", "--data", dataPath, "--out", out, "--base-model", "meta-llama/Llama-2-7b-hf", "--prompt-format", "vicuna-v1.1", "--rank", "16", "--targets", "q,v"], io);
    expect(code).toBe(0);
    expect(stderr()).toMatch(/skipped .*alpaca.json:1/);
    expect(stdout()).toContain("axolotl train axolotl.yml");
    const rows = readFileSync(join(out, "train.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(rows).toEqual([
      { messages: [{ role: "user", content: "Who are you?" }, { role: "assistant", content: "I am Camelid." }] },
      { messages: [{ role: "user", content: "Add\n\n1 2" }, { role: "assistant", content: "3" }] },
    ]);
    const yaml = readFileSync(join(out, "axolotl.yml"), "utf8");
    expect(yaml).toContain('base_model: "meta-llama/Llama-2-7b-hf"');
    expect(yaml).toContain("lora_r: 16");
    expect(yaml).toContain('lora_target_modules: ["q_proj", "v_proj"]');
    expect(yaml).toContain("roles_to_train: [\"assistant\"]");
    expect(yaml).toContain("learning_rate: 0.0002");
    const template = JSON.parse(/chat_template_jinja: (.*)/.exec(yaml)![1]) as string;
    expect(template).toBe(withoutGenerationMarkers(recipeChatTemplates["vicuna-v1.1"]));
  });

  it("trl: a runnable SFTTrainer script; the prompt format comes from the model when not given", async () => {
    const out = join(dir, "trl");
    const { io } = captureIo();
    expect(await run(["--export", "trl", "--data", dataPath, "--out", out, "--base-model", "my/model", "--model", stories260KPath(), "--val-fraction", "0"], io)).toBe(0);
    const script = readFileSync(join(out, "train_trl.py"), "utf8");
    expect(script).toContain('BASE_MODEL = "my/model"');
    expect(script).toContain("assistant_only_loss=True");
    // stories260K has no chat template and no family name: the registry's fallback, ChatML
    expect(script).toContain(`camelid's "chatml" prompt format`);
    expect(script).toContain('target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]');
    expect(script).toContain("train_dataset, eval_dataset = dataset, None");
    expect(existsSync(join(out, "train.jsonl"))).toBe(true);
  });

  it("says what is missing or wrong", async () => {
    const attempt = async (args: string[]) => {
      const { io } = captureIo();
      return run(args, io).then(
        () => "",
        (error: Error) => error.message,
      );
    };
    expect(await attempt(["--export", "trl", "--data", dataPath, "--out", dir, "--prompt-format", "alpaca"])).toMatch(/needs --base-model/);
    expect(await attempt(["--export", "trl", "--data", dataPath, "--out", dir, "--base-model", "x", "--prompt-format", "koala"])).toMatch(/no recipe chat template for prompt format "koala"/);
    expect(await attempt(["--export", "pytorch", "--data", dataPath, "--out", dir])).toMatch(/--export must be one of axolotl, trl/);
    expect(await attempt(["--data", dataPath, "--out", dir])).toMatch(/--model is required/);
    expect(await attempt(["--model", "m.gguf", "--out", dir])).toMatch(/--data is required/);
    expect(await attempt(["--model", "m.gguf", "--data", dataPath, "--out", dir, "--targets", "q,x"])).toMatch(/--targets must be one of/);
    expect(await attempt(["--model", "m.gguf", "--data", dataPath, "--out", dir, "--lr", "fast"])).toMatch(/--lr must be a number/);
    expect(await attempt(["--model", "m.gguf", "--data", dataPath, "--out", dir, "--merged", "Q4_K"])).toMatch(/--merged must be one of F32, F16, Q8_0/);
    expect(await attempt(["--model", stories260KPath(), "--data", dataPath, "--out", join(dir, "ctx"), "--max-length", "4096"])).toMatch(/max length 4096 exceeds the model's context of 2048 tokens/);
    expect(await attempt(["--model", stories260KPath(), "--data", dataPath, "--out", join(dir, "ctx"), "--resume"])).toMatch(/no checkpoint at .*checkpoint.bin/);
    const { io, stdout } = captureIo();
    expect(await run(["--help"], io)).toBe(0);
    expect(stdout()).toContain("--resume");
  });
});
