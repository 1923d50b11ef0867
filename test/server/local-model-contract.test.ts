// The openai client against our server on the real stories260K model through the local provider:
// the server returns exactly what the provider generates (streaming and not), and the dry run shows
// the exact tokens evaluated.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalModel } from "../../src/providers/local/index.js";
import { getLlamaRuntime } from "../../src/providers/local/llama-runtime.js";
import { defaultThreadsForBuild } from "../../src/providers/local/options.js";
import { createServerApp } from "../../src/server/app.js";
import { listen, type ListeningServer } from "../../src/server/listen.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import { stories260KPath } from "../support/shared-data.js";

// The first sentence of llama.cpp's greedy continuation of "Once upon a time" (../shared/README.md).
const referenceStart = ", there was a little girl named Lily.";

let server: ListeningServer;
let registry: ModelRegistry;
let client: OpenAI;
let direct: ReturnType<typeof createLocalModel>;

beforeAll(async () => {
  registry = new ModelRegistry([
    {
      id: "stories260K",
      kind: "local",
      ownedBy: "camelid",
      capacity: 4,
      maxQueue: 8,
      load: async () => {
        direct = createLocalModel({ modelPath: stories260KPath(), modelId: "stories260K", contextSize: 128, sequences: 4 });
        await direct.load();
        return direct;
      },
    },
  ]);
  server = await listen(createServerApp({ registry }).app, { host: "127.0.0.1", port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
  await registry?.dispose();
});

describe("openai client on stories260K", () => {
  it("greedy completions are exactly the provider's, streamed and not", async () => {
    await registry.loadAll();
    const expected = await direct.doGenerate({ prompt: "Once upon a time", maxTokens: 20, temperature: 0 });
    const completion = await client.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 20, temperature: 0 });
    expect(completion.choices[0].text).toBe(expected.choices[0].text);
    expect(completion.choices[0].text.startsWith(referenceStart)).toBe(true);
    expect(completion.choices[0].finish_reason).toBe("length");
    expect(completion.usage?.completion_tokens).toBe(20);

    const stream = await client.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 20, temperature: 0, stream: true });
    let streamed = "";
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? "";
    expect(streamed).toBe(completion.choices[0].text);
  });

  it("/v1/models says which node-llama-cpp binary the loaded model runs and its default threads", async () => {
    await client.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 1, temperature: 0 });
    const { buildType } = await getLlamaRuntime({ gpu: false });
    const expected = { engine: "node-llama-cpp", binary: buildType, threads: defaultThreadsForBuild(buildType) };
    const listed = (await (await fetch(`${server.url}/v1/models/stories260K`)).json()) as { status: { value: string; engine?: unknown } };
    expect(listed.status).toMatchObject({ value: "ready", engine: expected });
    expect(["prebuilt", "localBuild"]).toContain(buildType);
    expect(registry.get("stories260K").status().engine).toEqual(expected);
  });

  it("n > 1 with logprobs: each choice has one logprob per token, the top alternative is the greedy one", async () => {
    const completion = await client.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 5, temperature: 0, n: 2, logprobs: 3 });
    expect(completion.choices).toHaveLength(2);
    for (const choice of completion.choices) {
      const logprobs = choice.logprobs!;
      expect(logprobs.tokens!.join("")).toBe(choice.text);
      expect(logprobs.token_logprobs!.every((lp) => lp! <= 0)).toBe(true);
      expect(Object.keys(logprobs.top_logprobs![0])).toHaveLength(3);
      expect(Math.max(...Object.values(logprobs.top_logprobs![0]))).toBeCloseTo(logprobs.token_logprobs![0]!, 4);
    }
  });

  it("chat works through the model's prompt format, and the dry run shows those exact tokens", async () => {
    const chat = await client.chat.completions.create({ model: "stories260K", messages: [{ role: "user", content: "Tell me a story" }], max_tokens: 8, temperature: 0 });
    expect(chat.choices[0].message.role).toBe("assistant");
    expect(chat.usage!.completion_tokens).toBeGreaterThan(0);

    const rendered = await (
      await fetch(`${server.url}/v1/chat/completions/render`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "stories260K", messages: [{ role: "user", content: "Tell me a story" }] }),
      })
    ).json();
    expect(rendered.token_count).toBe(chat.usage!.prompt_tokens);
    expect(rendered.tokens).toEqual((await direct.renderPrompt({ messages: [{ role: "user", content: "Tell me a story" }] })).tokens);
    const tokenized = await (await fetch(`${server.url}/v1/tokenize`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "stories260K", text: "Once upon a time" }) })).json();
    expect(tokenized.tokens).toEqual(await direct.tokenize("Once upon a time"));
    expect(tokenized.tokens[0]).toBe(1); // BOS, as the model's tokenizer says
    const text = await (await fetch(`${server.url}/v1/detokenize`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "stories260K", tokens: tokenized.tokens }) })).json();
    expect(text.text.trim()).toBe("Once upon a time");
  });

  it("a prompt longer than the context is a BadRequestError carrying n_prompt_tokens and n_ctx", async () => {
    const error = await client.completions.create({ model: "stories260K", prompt: "Once upon a time ".repeat(400), max_tokens: 4 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const body = (error as InstanceType<typeof OpenAI.BadRequestError>).error as { type: string; n_ctx: number; n_prompt_tokens: number };
    expect(body.type).toBe("exceed_context_size_error");
    expect(body.n_ctx).toBeGreaterThanOrEqual(128);
    expect(body.n_prompt_tokens).toBeGreaterThan(body.n_ctx);
  });
});
