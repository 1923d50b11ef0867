// `train --merged` writes a standalone model: it must keep the base's chat template and special tokens, so a
// merged model registered or served alone renders conversations as its base did.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadLlamaGguf, LlamaModel, SeededRandom } from "../../src/engine/index.js";
import { GgufReader, writeGguf } from "../../src/gguf/index.js";
import { writeMergedGguf } from "../../src/train/merged-export.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-merged-template-");
const TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}</s>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

describe("merged export", () => {
  it("keeps the base's chat template, special-token ids and vocabulary", async () => {
    const dir = newDirectory();
    const basePath = join(dir, "templated.gguf");
    const source = await GgufReader.open(stories260KPath());
    try {
      const metadata = new Map(source.metadata);
      metadata.set("tokenizer.chat_template", { type: "string", value: TEMPLATE });
      metadata.set("tokenizer.ggml.add_bos_token", { type: "bool", value: true });
      await writeGguf(basePath, {
        metadata,
        tensors: source.tensors.map((info) => ({ name: info.name, dims: info.dims, type: "F32" as const, data: () => source.tensorFloats(info.name) })),
      });
    } finally {
      await source.close();
    }
    const { config, weights } = await loadLlamaGguf(basePath);
    const model = new LlamaModel(config, weights, { lora: { rank: 2, alpha: 4, dropout: 0, targets: ["q", "v"] }, seed: 1 });
    const random = new SeededRandom(2);
    for (const pairs of model.lora!.layers) for (const pair of pairs.values()) for (let i = 0; i < pair.b.length; i++) pair.b[i] = random.uniform(-0.1, 0.1);
    const mergedPath = join(dir, "merged-F16.gguf");
    await writeMergedGguf(basePath, mergedPath, model.lora!, "F16");

    const [base, merged] = await Promise.all([GgufReader.open(basePath), GgufReader.open(mergedPath)]);
    try {
      const tokenizerKeys = [...base.metadata.keys()].filter((key) => key.startsWith("tokenizer."));
      expect(tokenizerKeys).toEqual(expect.arrayContaining(["tokenizer.chat_template", "tokenizer.ggml.tokens", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_bos_token"]));
      for (const key of tokenizerKeys) expect(merged.metadata.get(key), key).toEqual(base.metadata.get(key));
      expect(merged.metadata.get("tokenizer.chat_template")).toEqual({ type: "string", value: TEMPLATE });
    } finally {
      await Promise.all([base.close(), merged.close()]);
    }
  });
});
