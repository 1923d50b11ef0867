// A random vision projector written with the project's GGUF writer in the layout llama.cpp's clip
// loader reads, paired with a random LLaMA of the same embedding size: the header says what it is,
// and the real llama-server loads it with --mmproj and answers a prompt with an image in it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeGguf, formatGgufDescription } from "../../src/gguf/describe.js";
import { readGgufHeader } from "../../src/gguf/reader.js";
import { writeRandomLlamaGguf } from "../../src/gguf/random-llama.js";
import { writeRandomProjectorGguf } from "../../src/gguf/random-projector.js";
import { hasLlamaServer, startLlamaServer, type LlamaServerProcess } from "../support/llama-server-process.js";
import { makePng } from "../support/png.js";
import { sharedPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-mmproj-");
/** A 12×12 gradient (stb_image decodes it; clip resizes it to the projector's 32×32). */
const png = makePng(12, 12, (x, y) => [x * 20, y * 20, 128]);

async function writePair(directory: string) {
  const llm = await writeRandomLlamaGguf({ path: `${directory}/llm.gguf`, vocabFrom: sharedPath("models/stories260K.gguf"), dim: 64, layers: 2, heads: 4, kvHeads: 4, hiddenDim: 128, seed: 7 });
  const projector = await writeRandomProjectorGguf({ path: `${directory}/mmproj.gguf`, textDim: 64, seed: 3 });
  return { llm, projector };
}

describe("random vision projector GGUF", () => {
  it("is written in clip's layout and inspect says it gives a model vision", async () => {
    const { projector } = await writePair(newDirectory());
    expect(projector.tokensPerImage).toBe(16);
    const header = await readGgufHeader(projector.path);
    expect(header.metadata.get("clip.projector_type")).toEqual({ type: "string", value: "mlp" });
    const names = header.tensors.map((tensor) => tensor.name);
    expect(names).toEqual(expect.arrayContaining(["v.patch_embd.weight", "v.position_embd.weight", "v.blk.1.attn_out.weight", "mm.0.weight", "mm.2.weight"]));
    expect(header.tensors.find((tensor) => tensor.name === "mm.2.weight")?.dims).toEqual([64, 64]);
    const description = await describeGguf(projector.path);
    expect(description.projector).toEqual({ capabilities: ["vision"], type: "mlp", imageSize: 32, patchSize: 8, projectionDim: 64 });
    expect(formatGgufDescription(description)).toContain("accepts vision");
    await expect(writeRandomProjectorGguf({ path: "/tmp/x.gguf", textDim: 64, visionDim: 32, ffnDim: 32 })).rejects.toThrow(/ffnDim/);
  });

  describe.skipIf(!hasLlamaServer)("with the real llama-server", () => {
    let server: LlamaServerProcess;
    beforeAll(async () => {
      const { llm, projector } = await writePair(newDirectory());
      server = await startLlamaServer(["-m", llm.path, "--mmproj", projector.path, "--ctx-size", "256", "--no-warmup"]);
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
  });
});
