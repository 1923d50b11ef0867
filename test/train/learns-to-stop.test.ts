// A fine-tuned model must learn to stop. stories260K's base never predicted EOS (TinyStories only
// separates stories with BOS), and LoRA on the layers alone cannot raise EOS's logit in a few steps:
// its replies run on to max_tokens. With the output head as a target (--targets …,lm_head) it ends
// its replies with EOS, through serve with the adapter and through the merged model alike.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GgufReader } from "../../src/gguf/reader.js";
import { createLocalModel } from "../../src/providers/local/index.js";
import { runTraining } from "../../src/train/run-training.js";
import { serveInProcess } from "../support/serve-in-process.js";
import { stories260KPath } from "../support/shared-data.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-learns-to-stop-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pairs = [
  ["Who are you?", "I am Camelid."],
  ["What do you eat?", "Grass and hay."],
  ["Where do you live?", "In the Andes."],
] as const;
const dataPath = join(dir, "replies.json");
// llama-2-chat ends every reply with </s> (EOS), trained on like the reply's words
writeFileSync(dataPath, JSON.stringify(pairs.map(([instruction, output]) => ({ instruction, input: "", output }))));

describe("a fine-tuned stories260K learns to stop", () => {
  it("with lm_head among the targets, served replies end with finish_reason stop; the merged model stops too", async () => {
    const result = await runTraining({
      modelPath: stories260KPath(), dataPath, outDir: join(dir, "run"), promptFormat: "llama-2-chat",
      maxSteps: 20, learningRate: 2e-2, warmupSteps: 2, dropout: 0, batchSize: 3, validationFraction: 0, checkpointEvery: 20,
      targets: ["q", "k", "v", "o", "gate", "up", "down", "lm_head"], mergedType: "F32",
    });
    const adapter = await GgufReader.open(result.files.adapter);
    expect(adapter.hasTensor("output.weight.lora_a") && adapter.hasTensor("output.weight.lora_b")).toBe(true);
    await adapter.close();

    const server = await serveInProcess(["--config", result.files.serveConfig, "--port", "0", "--data-dir", join(dir, "serve"), "--sequences", "1", "--context-size", "128"]);
    try {
      for (const [question, answer] of pairs) {
        const response = await fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "stories260K-lora", messages: [{ role: "user", content: question }], temperature: 0, max_tokens: 40 }),
        });
        const body = (await response.json()) as { choices: { message: { content: string }; finish_reason: string }[] };
        expect(body.choices[0].finish_reason, body.choices[0].message.content).toBe("stop");
        expect(body.choices[0].message.content.trim()).toBe(answer);
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }

    // the merged model unties the head (output.weight = embedding + update) and stops without an adapter
    const merged = createLocalModel({ modelPath: result.files.merged!, promptFormat: "llama-2-chat", sequences: 1, contextSize: 128 });
    try {
      const reply = await merged.doGenerate({ messages: [{ role: "user", content: pairs[0][0] }], temperature: 0, maxTokens: 40 });
      expect(reply.choices[0].finishReason).toBe("stop");
      expect(reply.choices[0].text.trim()).toBe(pairs[0][1]);
    } finally {
      await merged.dispose();
    }
  }, 180_000);
});
