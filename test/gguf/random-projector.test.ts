// A random vision projector written with the project's GGUF writer in the layout llama.cpp's clip
// loader reads, paired with a random LLaMA of the same embedding size: the header says what it is,
// and the real llama-server loads it with --mmproj and answers a prompt with an image in it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeGguf, formatGgufDescription } from "../../src/gguf/describe.js";
import { readGgufHeader } from "../../src/gguf/reader.js";
import { writeRandomProjectorGguf } from "../../src/gguf/random-projector.js";
import { createOpenAICompatibleModel } from "../../src/providers/openai/index.js";
import { createServerApp } from "../../src/server/app.js";
import { ImageIntake } from "../../src/server/images/image-intake.js";
import { ImageStore } from "../../src/server/images/image-store.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import { postJson } from "../server/support/test-server.js";
import { describeWithLlamaServer } from "../support/llama-server-binary.js";
import { startLlamaServer, type LlamaServerProcess } from "../support/llama-server-process.js";
import { gradientPng, writeVisionPair } from "../support/vision-pair.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-mmproj-");
const png = gradientPng;

describe("random vision projector GGUF", () => {
  it("is written in clip's layout and inspect says it gives a model vision", async () => {
    const { projector } = await writeVisionPair(newDirectory());
    expect(projector.tokensPerImage).toBe(16);
    const header = await readGgufHeader(projector.path);
    expect(header.metadata.get("clip.projector_type")).toEqual({ type: "string", value: "mlp" });
    const names = header.tensors.map((tensor) => tensor.name);
    expect(names).toEqual(expect.arrayContaining(["v.patch_embd.weight", "v.position_embd.weight", "v.blk.1.attn_out.weight", "mm.0.weight", "mm.2.weight"]));
    expect(header.tensors.find((tensor) => tensor.name === "mm.2.weight")?.dims).toEqual([64, 64]);
    const description = await describeGguf(projector.path);
    expect(description.projector).toEqual({ capabilities: ["vision"], type: "mlp", imageSize: 32, patchSize: 8, projectionDim: 64, imageTokens: { known: true, projectorType: "mlp", imageTokens: 16, begin: "", end: "" } });
    expect(formatGgufDescription(description)).toContain("accepts vision");
    expect(formatGgufDescription(description)).toContain("16 tokens per image");
    await expect(writeRandomProjectorGguf({ path: "/tmp/x.gguf", textDim: 64, visionDim: 32, ffnDim: 32 })).rejects.toThrow(/ffnDim/);
  });

  describeWithLlamaServer("with the real llama-server", (binary) => {
    let server: LlamaServerProcess;
    beforeAll(async () => {
      const { llm, projector } = await writeVisionPair(newDirectory());
      server = await startLlamaServer(binary, ["-m", llm.path, "--mmproj", projector.path, "--ctx-size", "256", "--no-warmup"]);
    }, 120_000);
    afterAll(() => server?.stop());

    it("loads it with --mmproj and answers a prompt with an image, greedily and repeatably", async () => {
      const props = (await (await fetch(`${server.url}/props`)).json()) as { modalities?: { vision?: boolean }; media_marker?: string };
      expect(props.modalities?.vision).toBe(true);
      const marker = props.media_marker ?? "<__media__>";
      const ask = async () => {
        const response = await fetch(`${server.url}/completion`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ prompt: { prompt_string: `Look: ${marker} Once upon a time`, multimodal_data: [png.toString("base64")] }, n_predict: 12, temperature: 0, cache_prompt: false }),
        });
        expect(response.status, server.log()).toBe(200);
        return (await response.json()) as { content: string; tokens_evaluated: number };
      };
      const first = await ask();
      // The image's 16 tokens are evaluated with the text's.
      expect(first.tokens_evaluated).toBeGreaterThan(16);
      expect(first.content.length).toBeGreaterThan(0);
      expect((await ask()).content).toBe(first.content);
    }, 120_000);

    it("through camelid serve (llama-server as a vision upstream) answers byte for byte what llama-server answers directly", async () => {
      const registry = new ModelRegistry([
        {
          id: "llava-tiny",
          kind: "remote",
          ownedBy: "llama-server",
          capacity: 1,
          maxQueue: 4,
          capabilities: ["vision"],
          load: async () => createOpenAICompatibleModel({ baseURL: `${server.url}/v1`, model: "llm", api: "chat", flavor: "llama-server", maxRetries: 0 }),
        },
      ]);
      const { app } = createServerApp({ registry, images: new ImageIntake(new ImageStore(`${newDirectory()}/images`)) });
      const body = (model: string) => ({
        model,
        max_tokens: 12,
        temperature: 0,
        messages: [{ role: "user", content: [{ type: "text", text: "What is in the picture?" }, { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } }] }],
      });
      const direct = (await (await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body("llm")) })).json()) as {
        choices: { message: { content: string } }[];
        usage: { prompt_tokens: number };
      };
      const response = await postJson(app, "/v1/chat/completions", body("llava-tiny"));
      expect(response.status, server.log()).toBe(200);
      const viaCamelid = (await response.json()) as typeof direct;
      expect(direct.choices[0].message.content.length).toBeGreaterThan(0);
      expect(viaCamelid.choices[0].message.content).toBe(direct.choices[0].message.content);
      // The image's 16 tokens are in the prompt both ways.
      expect(viaCamelid.usage.prompt_tokens).toBe(direct.usage.prompt_tokens);
      expect(direct.usage.prompt_tokens).toBeGreaterThan(16);
    }, 120_000);
  });
});
