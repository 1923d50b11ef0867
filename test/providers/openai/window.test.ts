import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ContextLengthExceededError } from "../../../src/errors/index.js";
import type { ChatMessage } from "../../../src/spec/messages.js";
import { type FakeOpenAIServer, jsonReply, type RecordedRequest, startFakeOpenAIServer } from "../../support/fake-openai-server.js";
import { modelFor } from "./helpers.js";
import { chatResponseBody } from "./wire-formats.js";

let server: FakeOpenAIServer;
beforeAll(async () => {
  server = await startFakeOpenAIServer();
  // A llama-server whose template joins the contents and whose tokenizer counts words: easy to reason about.
  server.route("POST", "/apply-template", (request) =>
    jsonReply({ prompt: (request.body as { messages: ChatMessage[] }).messages.map((message) => message.content).join(" ") }),
  );
  server.route("POST", "/tokenize", (request) =>
    jsonReply({ tokens: (request.body as { content: string }).content.split(" ").map((_, index) => index) }),
  );
  server.route("GET", "/v1/models", jsonReply({ object: "list", data: [{ id: "any.gguf" }] }));
  server.route("GET", "/props", jsonReply({ default_generation_settings: { n_ctx: 10 } }));
  server.route("POST", "/v1/chat/completions", jsonReply(chatResponseBody("llama-server", "ok")));
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

// 1 + 3 + 3 + 2 words = 9 tokens in all with the word-counting tokenizer above.
const conversation: ChatMessage[] = [
  { role: "system", content: "sys" },
  { role: "user", content: "one two" },
  { role: "assistant", content: "three" },
  { role: "user", content: "four five" },
  { role: "assistant", content: "six" },
  { role: "user", content: "seven eight" },
];

const sentMessages = (requests: RecordedRequest[]) =>
  (requests.find((request) => request.path === "/v1/chat/completions")?.body as { messages: ChatMessage[] }).messages;

describe("conversation windows on a remote model", () => {
  it("last-turns works on any server (it counts turns) and is reported", async () => {
    const result = await modelFor(server, { flavor: "openai" }).doGenerate({ messages: conversation, windowStrategy: { type: "last-turns", turns: 1 } });
    expect(sentMessages(server.requests)).toEqual([conversation[0], conversation[5]]);
    expect(result.prompt?.window).toEqual({ strategy: "last-turns", droppedMessages: 4, keptMessages: 2 });
    expect(result.warnings).toEqual([]);
  });

  it("token-budget on llama-server counts with its template and tokenizer and drops the oldest turns", async () => {
    const result = await modelFor(server, { flavor: "llama-server" }).doGenerate({
      messages: conversation,
      windowStrategy: { type: "token-budget", maxPromptTokens: 7 },
    });
    expect(sentMessages(server.requests)).toEqual([conversation[0], ...conversation.slice(3)]);
    expect(result.prompt?.window).toEqual({ strategy: "token-budget", droppedMessages: 2, keptMessages: 4 });
    expect(server.requests.some((request) => request.path === "/tokenize")).toBe(true);
  });

  it("the budget defaults to the server's context size minus maxTokens", async () => {
    // n_ctx 10 - maxTokens 6 = 4 tokens: only the system prompt and the last question fit (3 words).
    const result = await modelFor(server, { flavor: "llama-server" }).doGenerate({ messages: conversation, maxTokens: 6, windowStrategy: { type: "token-budget" } });
    expect(sentMessages(server.requests)).toEqual([conversation[0], conversation[5]]);
    expect(result.prompt?.window?.droppedMessages).toBe(4);
  });

  it("keep-all with a countable prompt that cannot fit fails before generating", async () => {
    const error = await modelFor(server, { flavor: "llama-server" })
      .doGenerate({ messages: conversation, maxTokens: 5, windowStrategy: { type: "keep-all" } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContextLengthExceededError);
    expect(error).toMatchObject({ promptTokens: 9, contextSize: 5 });
    expect(server.requests.some((request) => request.path === "/v1/chat/completions")).toBe(false);
  });

  it("token-budget where the server cannot count: the whole conversation goes, with a warning", async () => {
    const result = await modelFor(server, { flavor: "ollama" }).doGenerate({ messages: conversation, windowStrategy: { type: "token-budget", maxPromptTokens: 3 } });
    expect(sentMessages(server.requests)).toEqual(conversation);
    expect(result.warnings).toEqual([expect.objectContaining({ type: "unsupported-setting", setting: "windowStrategy" })]);
    expect(result.prompt?.window).toBeUndefined();
  });
});
