import { describe, expect, it } from "vitest";
import { UpstreamError } from "../../../src/errors/index.js";
import { ServerSentEventParser, type ServerSentEvent } from "../../../src/providers/openai/sse-parser.js";

const encoder = new TextEncoder();

/** Feed `bytes` cut at the given offsets and collect every event plus the end-of-stream report. */
function parseSplit(bytes: Uint8Array, cuts: number[]) {
  const parser = new ServerSentEventParser();
  const events: ServerSentEvent[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...parser.push(bytes.subarray(start, cut)));
    start = cut;
  }
  const end = parser.finish();
  return { events: [...events, ...end.events], unterminatedEvent: end.unterminatedEvent };
}

describe("ServerSentEventParser", () => {
  it("parses data events, comments, event names and ids", () => {
    const text = ": keep-alive\n\nevent: ping\nid: 7\ndata: {\"a\":1}\n\ndata: [DONE]\n\n";
    const { events, unterminatedEvent } = parseSplit(encoder.encode(text), []);
    expect(events).toEqual([
      { event: "ping", data: '{"a":1}', id: "7" },
      { event: "message", data: "[DONE]", id: "7" },
    ]);
    expect(unterminatedEvent).toBe(false);
  });

  it("joins multi-line data with newlines and strips only one leading space", () => {
    const { events } = parseSplit(encoder.encode("data:  two spaces\ndata:none\ndata\n\n"), []);
    expect(events).toEqual([{ event: "message", data: " two spaces\nnone\n" }]);
  });

  it("accepts \\r\\n, \\r and \\n line endings, even mixed", () => {
    const { events } = parseSplit(encoder.encode("data: a\r\n\r\ndata: b\r\rdata: c\n\n"), []);
    expect(events.map((event) => event.data)).toEqual(["a", "b", "c"]);
  });

  it("gives identical events for every possible split point, including inside UTF-8 characters and \\r\\n", () => {
    const text = 'data: {"text":"안녕하세요 👋🏽 세계"}\r\n\r\n: comment\r\nevent: error\r\ndata: {"error":{"message":"x"}}\r\n\r\ndata: two\r\ndata: lines\r\n\r\ndata: [DONE]\r\n\r\n';
    const bytes = encoder.encode(text);
    const whole = parseSplit(bytes, []).events;
    expect(whole).toHaveLength(4);
    expect(whole[2].data).toBe("two\nlines");
    expect(JSON.parse(whole[0].data).text).toBe("안녕하세요 👋🏽 세계");
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(parseSplit(bytes, [cut]).events).toEqual(whole);
    }
    // Byte-at-a-time delivery: the most hostile chunking a network can produce.
    const everyByte = Array.from({ length: bytes.length - 1 }, (_, index) => index + 1);
    expect(parseSplit(bytes, everyByte).events).toEqual(whole);
  });

  it("surfaces llama.cpp's non-standard `error:` line as an error event", () => {
    const { events } = parseSplit(encoder.encode('error: {"code":400,"message":"boom"}\n\ndata: [DONE]\n\n'), []);
    expect(events[0]).toEqual({ event: "error", data: '{"code":400,"message":"boom"}' });
    expect(events[1].data).toBe("[DONE]");
  });

  it("reports an event cut off by the end of the body and does not dispatch it", () => {
    const { events, unterminatedEvent } = parseSplit(encoder.encode('data: {"a":1}\n\ndata: {"trunc'), []);
    expect(events).toEqual([{ event: "message", data: '{"a":1}' }]);
    expect(unterminatedEvent).toBe(true);
  });

  it("ignores a leading byte-order mark and events without data", () => {
    const { events } = parseSplit(new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode("event: x\n\ndata: y\n\n")]), [1, 2]);
    expect(events).toEqual([{ event: "message", data: "y" }]);
  });

  it("rejects an unbounded line with a typed error instead of growing without limit", () => {
    const parser = new ServerSentEventParser({ maxLineLength: 64 });
    expect(() => parser.push(encoder.encode(`data: ${"x".repeat(100)}`))).toThrow(UpstreamError);
    const eventParser = new ServerSentEventParser({ maxLineLength: 64 });
    expect(() => eventParser.push(encoder.encode("data: 0123456789\n".repeat(10)))).toThrow(/longer than 64/);
  });
});
