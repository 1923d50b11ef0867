// train and serve choose a model's prompt format with one function and agree on it; when the default
// cannot be written in the model's vocabulary (stories260K has no <|im_start|>), both say so and name
// --prompt-format and the formats that would work.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run as train } from "../../src/cli/commands/train.js";
import { PromptFormatError } from "../../src/errors/index.js";
import { describeFormatMisfit, fitPromptFormat, requireFittingPromptFormat } from "../../src/prompts/index.js";
import { captureIo } from "../support/capture-io.js";
import { serveInProcess } from "../support/serve-in-process.js";
import { stories260KPath } from "../support/shared-data.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-format-fit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A vocabulary with BOS/EOS but none of the "<|…|>" specials. */
const noPipeSpecials = (text: string) => (text.includes("<|") ? 5 : 1);

describe("fitPromptFormat", () => {
  it("finds the fallback ChatML's specials missing and lists the formats the vocabulary can write", () => {
    const fit = fitPromptFormat({ modelName: "stories260K" }, noPipeSpecials);
    expect(fit.choice.name).toBe("chatml");
    expect(fit.missingSpecials).toEqual(["<|im_start|>", "<|im_end|>"]);
    expect(fit.fittingFormats).toContain("alpaca");
    expect(fit.fittingFormats).toContain("llama-2-chat");
    expect(fit.fittingFormats).not.toContain("chatml");
    expect(fit.fittingFormats).not.toContain("llama-3");
    const message = describeFormatMisfit(fit, "m.gguf")!;
    expect(message).toMatch(/^prompt format "chatml" was chosen \(.*fallback format\), but this model's vocabulary has no single token for "<\|im_start\|>", "<\|im_end\|>"/);
    expect(message).toContain(`choose one with --prompt-format (train; --format for generate and chat, "promptFormat" in serve's config): formats this vocabulary can write: `);
    expect(message).toContain("`camelid formats detect --model m.gguf`");
  });

  it("accepts a format whose specials are all single tokens, and refuses an explicit one that is not", () => {
    expect(fitPromptFormat({ explicit: "alpaca" }, noPipeSpecials).missingSpecials).toEqual([]);
    expect(() => requireFittingPromptFormat({ explicit: "llama-3" }, noPipeSpecials)).toThrow(PromptFormatError);
    expect(() => requireFittingPromptFormat({ explicit: "llama-3" }, noPipeSpecials)).toThrow(/"llama-3" was requested/);
  });
});

describe("train and serve on stories260K", () => {
  it("train refuses the default format naming --prompt-format; serve reports the same choice and the same alternatives", async () => {
    const dataPath = join(dir, "data.json");
    writeFileSync(dataPath, JSON.stringify([{ instruction: "Say hi", input: "", output: "Hi." }]));
    const failure = await train(["--model", stories260KPath(), "--data", dataPath, "--out", join(dir, "run"), "--max-steps", "1"], captureIo().io).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PromptFormatError);
    const trainMessage = (failure as Error).message;
    expect(trainMessage).toMatch(/prompt format "chatml" was chosen .* no single token for "<\|im_start\|>"/);
    expect(trainMessage).toContain("--prompt-format");
    expect(trainMessage).toContain(`camelid formats detect --model ${stories260KPath()}`);

    const server = await serveInProcess(["--model", `story=${stories260KPath()}`, "--eager", "--port", "0", "--data-dir", join(dir, "serve"), "--context-size", "64", "--sequences", "1"]);
    try {
      // The model's startup line: the engine's note (which binary, threads), then its prompt format.
      const line = server.log().split("\n").find((text) => text.includes('model "story": ') && text.includes("prompt format"));
      expect(line, server.log()).toBeDefined();
      expect(line).toContain("prompt format chatml for chat");
      // the same sentence train printed: one selection, one explanation
      expect(line).toContain(`warning: ${trainMessage}`);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 120_000);
});
