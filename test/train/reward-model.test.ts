// The reward model's parts: the pairwise loss (LLaMA-2 eq. 2, trl's RewardTrainer), the head + LoRA
// gradients through the body (finite differences), and reward.gguf's round trip (load back → same scores).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LlamaModel, loadLlamaGguf, parseLoraConfig, referenceKernels } from "../../src/engine/index.js";
import { GgufReader, metadataString } from "../../src/gguf/index.js";
import { LoadedRewardModel } from "../../src/train/reward/load-reward-model.js";
import { negativeLogSigmoid, pairwiseRewardLoss } from "../../src/train/reward/pairwise-loss.js";
import { initialRewardHead, REWARD_HEAD_INIT_STD } from "../../src/train/reward/reward-head.js";
import { readRewardGguf, REWARD_HEAD_TENSOR, REWARD_KEYS, writeRewardGguf } from "../../src/train/reward/reward-gguf.js";
import { RewardModel, type RewardPair } from "../../src/train/reward/reward-model.js";
import { ModelLoadError } from "../../src/errors/index.js";
import { writeLoraAdapterGguf } from "../../src/train/adapter-export.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { stories260KPath } from "../support/shared-data.js";
import { numericGradient, relativeError } from "../engine/gradient-check.js";
import { tinyConfig, tinyModel } from "../engine/tiny-model.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-reward-model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pairwise reward loss", () => {
  it("is mean −log σ(r_c − r_r − m), with its gradient, accuracy (ties left out, as trl's) and mean margin", () => {
    const chosen = [1.5, -0.2, 0.3], rejected = [0.5, 0.4, 0.3], margins = [0, 1, 0.5];
    const result = pairwiseRewardLoss(chosen, rejected, margins);
    const expected = (Math.log1p(Math.exp(-(1.0 - 0))) + Math.log1p(Math.exp(-(-0.6 - 1))) + Math.log1p(Math.exp(-(0 - 0.5)))) / 3;
    expect(result.loss).toBeCloseTo(expected, 12);
    // pair 3 ties: trl's compute_accuracy leaves it out, so 1 right of 2
    expect(result).toMatchObject({ accuracy: 0.5, correct: 1, ties: 1 });
    expect(pairwiseRewardLoss([1, 1], [1, 1], [0, 0]).accuracy).toBe(0);
    expect(result.margin).toBeCloseTo((1.0 - 0.6 + 0) / 3, 12);
    const h = 1e-6;
    for (let p = 0; p < 3; p++) {
      const plus = [...chosen], minus = [...chosen];
      plus[p] += h;
      minus[p] -= h;
      const numeric = (pairwiseRewardLoss(plus, rejected, margins).loss - pairwiseRewardLoss(minus, rejected, margins).loss) / (2 * h);
      expect(result.dChosen[p]).toBeCloseTo(numeric, 8);
      expect(result.dRejected[p]).toBeCloseTo(-numeric, 8);
    }
    // a margin asks for a larger gap: the same rewards cost more
    expect(pairwiseRewardLoss([1], [0], [1]).loss).toBeGreaterThan(pairwiseRewardLoss([1], [0], [0]).loss);
    expect(negativeLogSigmoid(-800)).toBeCloseTo(800, 9);
    expect(negativeLogSigmoid(800)).toBe(0);
  });

  it("the head starts as HF's score layer: normal, std 0.02, from the seed", () => {
    const head = initialRewardHead(4096, 42);
    const mean = head.reduce((a, b) => a + b, 0) / head.length;
    const std = Math.sqrt(head.reduce((a, b) => a + (b - mean) ** 2, 0) / head.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(REWARD_HEAD_INIT_STD * 0.95);
    expect(std).toBeLessThan(REWARD_HEAD_INIT_STD * 1.05);
    expect(initialRewardHead(8, 42)).toEqual(initialRewardHead(8, 42));
  });
});

describe("RewardModel gradients", () => {
  it("LoRA and head gradients of the pairwise loss match finite differences (margins, padding, two pairs)", () => {
    const config = tinyConfig();
    const model = tinyModel(config, referenceKernels, parseLoraConfig({ rank: 2, alpha: 4, dropout: 0, targets: ["q", "v", "down"] }));
    const random = new SeededRandom(9);
    const sequence = (n: number) => Int32Array.from({ length: n }, () => Math.floor(random.next() * config.vocabSize));
    const pairs: RewardPair[] = [
      { chosen: sequence(5), rejected: sequence(3), margin: 0.5 },
      { chosen: sequence(4), rejected: sequence(6), margin: 0 },
    ];
    const reward = new RewardModel(model, Float32Array.from({ length: config.dim }, () => random.uniform(-0.5, 0.5)));
    const T = 6;
    reward.zeroGradients();
    reward.pairs(pairs, T, { backward: true });
    const loraGrads = model.lora!.grads.slice(), headGrad = reward.headGrad.slice();
    const loss = () => reward.pairs(pairs, T, { backward: false }).loss;
    expect(relativeError(loraGrads, numericGradient(model.lora!.params, loss, 1e-2))).toBeLessThan(3e-3);
    expect(relativeError(headGrad, numericGradient(reward.head, loss, 1e-2))).toBeLessThan(3e-3);
    expect(headGrad.some((g) => g !== 0) && loraGrads.some((g) => g !== 0)).toBe(true);
  });

  it("a sequence's reward does not depend on the padding after it or on the batch around it", () => {
    const config = tinyConfig();
    const reward = new RewardModel(tinyModel(config, referenceKernels, parseLoraConfig({ rank: 2, alpha: 4, dropout: 0, targets: ["q"] })), initialRewardHead(config.dim, 1));
    const a = Int32Array.from([1, 2, 3]), b = Int32Array.from([4, 5, 6, 7, 8]);
    const alone = reward.score([a], 1)[0];
    const together = reward.score([b, a], 2);
    expect(together[1]).toBeCloseTo(alone, 5);
    expect(reward.rewards([a], 9, 3).rewards[0]).toBeCloseTo(alone, 5);
  });
});

describe("reward.gguf", () => {
  it("round trip: written, loaded back onto the base model, the same scores; llama.cpp's adapter keys beside camelid.reward.*", async () => {
    const basePath = stories260KPath();
    const { config, weights } = await loadLlamaGguf(basePath);
    const model = new LlamaModel(config, weights, { lora: parseLoraConfig({ rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o"] }), seed: 5, kernels: referenceKernels });
    const random = new SeededRandom(3);
    for (let i = 0; i < model.lora!.params.length; i++) model.lora!.params[i] += random.uniform(-0.05, 0.05);
    model.training = false;
    const reward = new RewardModel(model, initialRewardHead(config.dim, 7));
    const path = join(dir, "reward.gguf");
    await writeRewardGguf(path, model.lora!, reward.head, config, { name: "stories260K reward model", architecture: "llama", promptFormat: "llama-2-chat" });

    const reader = await GgufReader.open(path);
    expect(metadataString(reader.metadata, "general.type")).toBe("adapter");
    expect(metadataString(reader.metadata, "adapter.type")).toBe("reward");
    expect(metadataString(reader.metadata, REWARD_KEYS.pooling)).toBe("last");
    expect(metadataString(reader.metadata, REWARD_KEYS.targets)).toBe("q,k,v,o");
    expect(reader.tensorInfo(REWARD_HEAD_TENSOR).dims).toEqual([config.dim, 1]);
    expect(reader.hasTensor("blk.0.attn_q.weight.lora_a")).toBe(true);
    await reader.close();

    const loaded = await LoadedRewardModel.open(basePath, path, { kernels: referenceKernels, batchSize: 2 });
    try {
      expect(loaded.promptFormat.name).toBe("llama-2-chat");
      const prompt = [{ role: "user" as const, content: "Tell me a story." }];
      const sequences = ["Once upon a time there was a cat.", "The dog ran."].map((answer) => {
        const tokenized = loaded.tokenize(prompt, answer);
        if ("problem" in tokenized) throw new Error(tokenized.problem);
        return tokenized.tokens;
      });
      const before = reward.score(sequences, 2);
      const after = loaded.scoreTokens(sequences);
      expect([...after]).toEqual([...before]);
      expect(before[0]).not.toBe(before[1]);
      expect(loaded.tokenize(prompt, "")).toEqual({ problem: "the answer is empty" });
    } finally {
      await loaded.dispose();
    }
  });

  it("refuses a plain LoRA adapter and a head of another width, by name", async () => {
    const { config, weights } = await loadLlamaGguf(stories260KPath());
    const lora = new LlamaModel(config, weights, { lora: parseLoraConfig({ rank: 2, alpha: 4, dropout: 0, targets: ["q"] }) }).lora!;
    lora.params.fill(0.01);
    const plain = join(dir, "adapter.gguf"), rewardPath = join(dir, "small-reward.gguf");
    await writeLoraAdapterGguf(plain, lora, config, { name: "x", architecture: "llama" });
    await expect(readRewardGguf(plain, config)).rejects.toThrow(/is not a camelid reward model \(general.type adapter, adapter.type lora/);
    await writeRewardGguf(rewardPath, lora, new Float32Array(config.dim), config, { name: "x", architecture: "llama", promptFormat: "llama-2-chat" });
    await expect(readRewardGguf(rewardPath, { ...config, dim: config.dim * 2 })).rejects.toThrow(ModelLoadError);
    await expect(readRewardGguf(rewardPath, { ...config, dim: config.dim * 2 })).rejects.toThrow(/reward head has 64 weights, the base model's width is 128/);
  });
});
