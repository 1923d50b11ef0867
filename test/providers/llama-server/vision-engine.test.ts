// Images through the llama-server engine (--mmproj) with the random projector pair: camelid serve
// renders the prompt (an image marker where the image goes), llama-server's mtmd encodes the image, and
// the greedy answer equals, byte for byte, what llama-server answers directly for the same prompt and image.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLlamaServerModel, type LlamaServerLanguageModel } from "../../../src/providers/llama-server/index.js";
import { createServerApp } from "../../../src/server/app.js";
import { ImageIntake } from "../../../src/server/images/image-intake.js";
import { ImageStore } from "../../../src/server/images/image-store.js";
import { ModelRegistry } from "../../../src/server/model-registry.js";
import { MEDIA_MARKER } from "../../../src/spec/messages.js";
import { describeWithLlamaServer } from "../../support/llama-server-binary.js";
import { startLlamaServer, type LlamaServerProcess } from "../../support/llama-server-process.js";
import { temporaryDirectories } from "../../support/temporary-directories.js";
import { gradientPng, writeVisionPair } from "../../support/vision-pair.js";
import { postJson } from "../../server/support/test-server.js";

const newDirectory = temporaryDirectories("camelid-vision-engine-");
const sampling = { temperature: 0, top_k: 40, top_p: 1, min_p: 0, repeat_penalty: 1, frequency_penalty: 0, presence_penalty: 0 };

describeWithLlamaServer("llama-server engine with a projector (--mmproj)", (binary) => {
  let engine: LlamaServerLanguageModel;
  let direct: LlamaServerProcess;
  let app: ReturnType<typeof createServerApp>["app"];
  let paths: Awaited<ReturnType<typeof writeVisionPair>>;

  beforeAll(async () => {
    const folder = newDirectory();
    paths = await writeVisionPair(folder);
    engine = createLlamaServerModel({ modelPath: paths.llm.path, mmproj: paths.projector.path, llamaServerBin: binary, logDir: folder, cacheDir: folder, sequences: 1, contextSize: 256, keepAliveSeconds: -1 });
    const registry = new ModelRegistry([{ id: "tiny-vision", kind: "local", ownedBy: "camelid", capacity: 1, maxQueue: 4, capabilities: ["vision"], load: async () => engine }]);
    app = createServerApp({ registry, images: new ImageIntake(new ImageStore(`${folder}/images`)) }).app;
    direct = await startLlamaServer(binary, ["-m", paths.llm.path, "--mmproj", paths.projector.path, "--ctx-size", "256", "--parallel", "1"]);
  }, 180_000);
  afterAll(async () => {
    await engine?.dispose?.();
    await direct?.stop();
  });

  it("answers an image prompt byte for byte as llama-server does directly", async () => {
    const chat = {
      model: "tiny-vision",
      max_tokens: 16,
      ...sampling,
      messages: [{ role: "user", content: [{ type: "text", text: "Look at this: " }, { type: "image_url", image_url: { url: `data:image/png;base64,${gradientPng.toString("base64")}` } }, { type: "text", text: " What is it?" }] }],
    };
    const rendered = (await (await postJson(app, "/v1/chat/completions/render", chat)).json()) as { prompt: string };
    expect(rendered.prompt).toContain(`Look at this: ${MEDIA_MARKER} What is it?`);
    const response = await postJson(app, "/v1/chat/completions", chat);
    expect(response.status).toBe(200);
    const answer = ((await response.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content;

    // The same prompt to llama-server itself: its own marker, and BOS left to it (mtmd adds it).
    const props = (await (await fetch(`${direct.url}/props`)).json()) as { media_marker: string };
    const bos = "<s>";
    const text = (rendered.prompt.startsWith(bos) ? rendered.prompt.slice(bos.length) : rendered.prompt).split(MEDIA_MARKER).join(props.media_marker);
    const reference = await fetch(`${direct.url}/completion`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: { prompt_string: text, multimodal_data: [gradientPng.toString("base64")] }, n_predict: 16, ...sampling, repeat_last_n: 64, seed: 1, cache_prompt: false }),
    });
    expect(reference.status, direct.log()).toBe(200);
    const expected = ((await reference.json()) as { content: string; tokens_evaluated: number });
    expect(expected.tokens_evaluated).toBeGreaterThan(16);
    expect(expected.content.length).toBeGreaterThan(0);
    expect(answer).toBe(expected.content);
  }, 120_000);

  it("counts each image as the projector's tokens: usage equals what llama-server evaluated, and the inspector's span", async () => {
    const image = { type: "image_url", image_url: { url: `data:image/png;base64,${gradientPng.toString("base64")}` } };
    const chat = { model: "tiny-vision", max_tokens: 4, ...sampling, messages: [{ role: "user", content: [{ type: "text", text: "One: " }, image, { type: "text", text: " two: " }, image, { type: "text", text: " Which?" }] }] };
    const rendered = (await (await postJson(app, "/v1/chat/completions/render", chat)).json()) as { prompt: string; tokens: number[]; token_count: number; images: { start: number; tokens: number }[] };
    // The random projector: 32 px images in 8 px patches, an mlp projector → 16 tokens each.
    expect(rendered.images.map((span) => span.tokens)).toEqual([16, 16]);
    expect(rendered.token_count).toBe(rendered.tokens.length + 32);
    expect(rendered.images[1].start).toBeGreaterThan(rendered.images[0].start + 16);

    const response = await postJson(app, "/v1/chat/completions", chat);
    expect(response.status).toBe(200);
    const usage = ((await response.json()) as { usage: { prompt_tokens: number } }).usage;

    // llama-server itself, same prompt and images, says how many positions it evaluated.
    const props = (await (await fetch(`${direct.url}/props`)).json()) as { media_marker: string };
    const text = rendered.prompt.replace(/^<s>/, "").split(MEDIA_MARKER).join(props.media_marker);
    const reference = await fetch(`${direct.url}/completion`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: { prompt_string: text, multimodal_data: [gradientPng.toString("base64"), gradientPng.toString("base64")] }, n_predict: 1, cache_prompt: false }),
    });
    expect(reference.status, direct.log()).toBe(200);
    const evaluated = (await reference.json()) as { tokens_evaluated: number; timings: { prompt_n: number } };
    expect(evaluated.timings.prompt_n).toBe(evaluated.tokens_evaluated);
    expect(usage.prompt_tokens).toBe(evaluated.tokens_evaluated);
    expect(rendered.token_count).toBe(evaluated.tokens_evaluated);
  }, 120_000);

  it("refuses a prompt whose text fits but whose images do not, before llama-server sees it", async () => {
    // 16 images × 16 tokens fill the 256-token context; their markers' text alone would fit.
    const image = { type: "image_url", image_url: { url: `data:image/png;base64,${gradientPng.toString("base64")}` } };
    const chat = { model: "tiny-vision", max_tokens: 4, messages: [{ role: "user", content: [...Array.from({ length: 16 }, () => image), { type: "text", text: "Count them." }] }] };
    const textOnly = (await engine.tokenize(`USER: ${MEDIA_MARKER.repeat(16)}Count them. ASSISTANT:`)).length;
    expect(textOnly).toBeLessThan(256);
    const response = await postJson(app, "/v1/chat/completions", chat);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(response.status, body.error.message).toBe(400);
    expect(body.error.code).toBe("context_length_exceeded");
    // camelid's own count (text tokens and 256 image tokens), not llama-server's refusal after the fact.
    const counted = /^the conversation is (\d+) prompt tokens but at most 255 fit/.exec(body.error.message);
    expect(counted, body.error.message).not.toBeNull();
    expect(Number(counted![1])).toBeGreaterThan(256);
  }, 120_000);

  it("a text-only local model (no projector) answers 400 naming the vision capability", async () => {
    const registry = new ModelRegistry([{ id: "tiny-text", kind: "local", ownedBy: "camelid", capacity: 1, maxQueue: 4, load: async () => engine }]);
    const textOnly = createServerApp({ registry, images: new ImageIntake(new ImageStore(`${newDirectory()}/images`)) }).app;
    const response = await postJson(textOnly, "/v1/chat/completions", { model: "tiny-text", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `data:image/png;base64,${gradientPng.toString("base64")}` } }] }] });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("model_capability_missing");
  });
});
