import { describe, expect, it } from "vitest";
import { AbortError, ConnectionError, UpstreamError } from "../../../src/errors/index.js";
import type { CallWarning } from "../../../src/spec/results.js";
import type { StreamPart } from "../../../src/spec/stream-parts.js";
import { StreamAssembler } from "../../../src/providers/openai/stream-assembly.js";
import type { ServerSentEvent } from "../../../src/providers/openai/sse-parser.js";

/** An assembler on a fake clock: each event advances time by the step given with it. */
function assemblerAt(options: { requestedChoices?: number; api?: "chat" | "completions" } = {}) {
  let clock = 1_000;
  const warnings: CallWarning[] = [];
  const assembler = new StreamAssembler({
    api: options.api ?? "chat",
    requestedChoices: options.requestedChoices ?? 1,
    keepAlternatives: false,
    startedAt: 1_000,
    url: "http://h/v1/chat/completions",
    modelId: "m",
    warnings,
    now: () => clock,
  });
  const feed = (data: unknown, advanceMs = 0, event = "message"): StreamPart[] => {
    clock += advanceMs;
    const sse: ServerSentEvent = { event, data: typeof data === "string" ? data : JSON.stringify(data) };
    return assembler.handleEvent(sse);
  };
  return { assembler, feed, warnings };
}

const delta = (index: number, content: string, finish: string | null = null) => ({ choices: [{ index, delta: { content }, finish_reason: finish }] });

describe("StreamAssembler", () => {
  it("times the first token and the decode rate on the clock it is given", () => {
    const { feed } = assemblerAt();
    feed({ choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }, 50);
    expect(feed(delta(0, "a"), 250)).toEqual([{ type: "text-delta", choiceIndex: 0, delta: "a" }]); // t = 300
    for (const piece of ["b", "c", "d", "e"]) feed(delta(0, piece), 100); // t = 700
    expect(feed(delta(0, "", "length"), 0)).toEqual([]); // a single choice's finish waits for usage
    feed({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } });
    const end = feed("[DONE]", 10); // t = 710
    expect(end).toEqual([
      { type: "choice-finish", choiceIndex: 0, finishReason: "length", completionTokens: 5 },
      {
        type: "finish",
        finishReason: "length",
        usage: { promptTokens: 3, completionTokens: 5, totalTokens: 8 },
        // 4 tokens after the first, over the 410 ms from the first token to the end.
        timings: { timeToFirstTokenMs: 300, totalMs: 710, tokensPerSecond: (4 / 410) * 1000 },
      },
    ]);
  });

  it("keeps n>1 interleaved choices apart and finishes each as its reason arrives", () => {
    const { feed, assembler } = assemblerAt({ requestedChoices: 2 });
    const parts = [
      ...feed(delta(1, "x")),
      ...feed(delta(0, "y")),
      ...feed(delta(1, "z", "stop")),
      ...feed(delta(0, "w")),
      ...feed({ choices: [{ index: 0, delta: {}, finish_reason: "length" }] }),
      ...feed("[DONE]"),
    ];
    expect(parts.filter((part) => part.type !== "finish")).toEqual([
      { type: "text-delta", choiceIndex: 1, delta: "x" },
      { type: "text-delta", choiceIndex: 0, delta: "y" },
      { type: "text-delta", choiceIndex: 1, delta: "z" },
      { type: "choice-finish", choiceIndex: 1, finishReason: "stop", completionTokens: 2 },
      { type: "text-delta", choiceIndex: 0, delta: "w" },
      { type: "choice-finish", choiceIndex: 0, finishReason: "length", completionTokens: 2 },
    ]);
    expect(assembler.isFinished).toBe(true);
    expect(feed(delta(0, "late"))).toEqual([]);
  });

  it("an error payload throws its typed error; fail() closes open choices with \"error\" or \"abort\"", () => {
    const { feed, assembler } = assemblerAt();
    feed(delta(0, "partial"));
    expect(() => feed({ error: { message: "model crashed", type: "server_error" } })).toThrow(UpstreamError);
    const parts = assembler.fail(new ConnectionError("dropped"));
    expect(parts.map((part) => part.type)).toEqual(["choice-finish", "error", "finish"]);
    expect(parts[0]).toMatchObject({ finishReason: "error", completionTokens: 1 });
    expect(parts[2]).toMatchObject({ finishReason: "error" });

    const aborted = assemblerAt();
    aborted.feed(delta(0, "partial"));
    const abortParts = aborted.assembler.fail(new AbortError());
    expect(abortParts.map((part) => part.type)).toEqual(["choice-finish", "finish"]);
    expect(abortParts[0]).toMatchObject({ finishReason: "abort" });
  });

  it("rejects events that are not JSON or not chunks, and warns about odd finishes", () => {
    const { feed, warnings } = assemblerAt();
    expect(() => feed("{oops")).toThrow(/not JSON/);
    expect(() => feed({ choices: [{ index: "zero", delta: {} }] })).toThrow(/malformed chunk/);
    feed(delta(0, "ok", "content_filter"));
    feed("[DONE]");
    expect(warnings.map((warning) => warning.message).join("\n")).toMatch(/content filter[\s\S]*no usage/);
  });
});
