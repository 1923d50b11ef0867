/**
 * A scripted OpenAI-compatible HTTP server on loopback, for tests of anything that talks to one
 * (the OpenAI-compatible provider, teachers, judges, upstream proxies). It speaks real HTTP and SSE:
 * replies are scripted step by step, down to the byte boundaries of each network write, delays
 * between them, and how the connection ends (cleanly, dropped, or left hanging).
 *
 *   const server = await startFakeOpenAIServer();
 *   server.enqueue(jsonReply(chatCompletionBody({ content: "Hi" })));
 *   server.enqueue(sseReply(chatCompletionChunks({ pieces: ["H", "i"] })));
 *   server.route("GET", "/v1/models", jsonReply({ object: "list", data: [{ id: "m" }] }));
 *   ... use server.baseURL ...
 *   server.requests[0].body   // what the client sent
 *   await server.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { waitUntil } from "./wait-for.js";

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. "/v1/chat/completions". */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  bodyText: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: unknown;
  /** performance.now() when the request had fully arrived. */
  receivedAt: number;
}

/** One network write (string or bytes, sent as given: no re-chunking) or a pause. */
export type ScriptedStep = string | Uint8Array | { delayMs: number };

export type ScriptedReply =
  /** A whole JSON body (any status), optionally after a delay. */
  | { type: "json"; status?: number; headers?: Record<string, string>; body: unknown; delayMs?: number }
  /** A text/event-stream written step by step; `end` says how the connection ends (default "close"). */
  | {
      type: "sse";
      status?: number;
      headers?: Record<string, string>;
      steps: ScriptedStep[];
      end?: "close" | "destroy" | "hang";
      delayMs?: number;
    }
  /** Any body as given (a non-JSON error page, a truncated JSON body). */
  | { type: "raw"; status?: number; headers?: Record<string, string>; body: string | Uint8Array; delayMs?: number }
  /** Drop the connection without answering (a crashed server or a reset). */
  | { type: "destroy"; delayMs?: number }
  /** Accept the request and never answer, until the client gives up or the server closes. */
  | { type: "hang" };

export type ReplyHandler = (request: RecordedRequest) => ScriptedReply | Promise<ScriptedReply>;

export interface FakeOpenAIServer {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  /** url + "/v1", what OpenAI-compatible clients take as their base URL. */
  readonly baseURL: string;
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Replies served in order to the next requests, whatever their path (routes answer when the queue is empty). */
  enqueue(...replies: ScriptedReply[]): void;
  /** A standing answer for one method and path (exact match), used when the queue is empty. */
  route(method: string, path: string, reply: ScriptedReply | ReplyHandler): void;
  /** How many responses the client abandoned (connection closed) before the server finished writing them. */
  readonly abandonedResponses: number;
  /** Resolves once `count` responses have been abandoned by the client (bounded by `timeoutMs`, default a generous 60 s). */
  waitForAbandoned(count: number, timeoutMs?: number): Promise<void>;
  /** Stop listening and drop every open connection (hanging replies included). */
  close(): Promise<void>;
}

/** `port`: a fixed loopback port (a test that restarts an upstream where its clients expect it); default any free one. */
export async function startFakeOpenAIServer(options: { port?: number } = {}): Promise<FakeOpenAIServer> {
  const queue: ScriptedReply[] = [];
  const routes = new Map<string, ScriptedReply | ReplyHandler>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let abandoned = 0;
  let closing = false;
  /** Responses whose connection the script itself dropped: not the client abandoning them. */
  const droppedByServer = new WeakSet<ServerResponse>();

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const bodyText = Buffer.concat(chunks).toString("utf8");
    const recorded: RecordedRequest = {
      method: request.method ?? "GET",
      path: (request.url ?? "/").split("?")[0],
      headers: request.headers,
      bodyText,
      body: parseJson(bodyText),
      receivedAt: performance.now(),
    };
    requests.push(recorded);

    response.on("close", () => {
      if (!response.writableFinished && !closing && !droppedByServer.has(response)) abandoned++;
    });
    const reply = await pickReply(recorded);
    await serve(reply, request, response, () => response.destroyed);
  }

  async function pickReply(request: RecordedRequest): Promise<ScriptedReply> {
    const queued = queue.shift();
    if (queued) return queued;
    const routed = routes.get(`${request.method} ${request.path}`);
    if (routed) return typeof routed === "function" ? routed(request) : routed;
    return jsonReply(errorBody(`fake server: no reply scripted for ${request.method} ${request.path}`, "not_found_error"), 404);
  }

  async function serve(reply: ScriptedReply, request: IncomingMessage, response: ServerResponse, gone: () => boolean) {
    if (reply.type === "hang") return;
    if (reply.delayMs) await delay(reply.delayMs);
    if (gone()) return;
    switch (reply.type) {
      case "destroy":
        droppedByServer.add(response);
        request.socket.destroy();
        return;
      case "json":
        response.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
        response.end(JSON.stringify(reply.body));
        return;
      case "raw":
        response.writeHead(reply.status ?? 200, { "content-type": "text/plain", ...reply.headers });
        response.end(reply.body);
        return;
      case "sse": {
        response.writeHead(reply.status ?? 200, {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
          ...reply.headers,
        });
        response.flushHeaders();
        for (const step of reply.steps) {
          if (gone()) return;
          if (typeof step === "object" && "delayMs" in step) await delay(step.delayMs);
          else await write(response, step);
        }
        if (gone()) return;
        const end = reply.end ?? "close";
        if (end === "close") response.end();
        // A dropped connection mid-stream: chunked encoding never terminated, as when a server dies.
        else if (end === "destroy") {
          droppedByServer.add(response);
          request.socket.destroy();
        }
        return;
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    enqueue: (...replies) => void queue.push(...replies),
    route: (method, path, reply) => void routes.set(`${method.toUpperCase()} ${path}`, reply),
    get abandonedResponses() {
      return abandoned;
    },
    async waitForAbandoned(count, timeoutMs = 60_000) {
      await waitUntil(() => abandoned >= count, { what: `${count} abandoned responses (fake server has ${abandoned})`, timeoutMs, intervalMs: 10 });
    },
    async close() {
      closing = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function write(response: ServerResponse, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    // Wait for the write to be flushed so each step really is its own network write.
    response.write(data, () => resolve());
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseJson(text: string): unknown {
  try {
    return text === "" ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

// ---- reply builders: the OpenAI wire format (servers with other shapes build on these) ----

export function jsonReply(body: unknown, status = 200, headers?: Record<string, string>): ScriptedReply {
  return { type: "json", status, body, headers };
}

export function sseReply(steps: ScriptedStep[], options: { end?: "close" | "destroy" | "hang"; headers?: Record<string, string> } = {}): ScriptedReply {
  return { type: "sse", steps, end: options.end, headers: options.headers };
}

/** One SSE event carrying `data` as JSON (or a literal string such as "[DONE]"). */
export function sseEvent(data: unknown, event?: string): string {
  const payload = typeof data === "string" ? data : JSON.stringify(data);
  return `${event ? `event: ${event}\n` : ""}data: ${payload}\n\n`;
}

export const sseDone = "data: [DONE]\n\n";

/** An OpenAI-shaped error body. */
export function errorBody(message: string, type = "invalid_request_error", param: string | null = null, code: string | null = null) {
  return { error: { message, type, param, code } };
}

/** Cut a text's UTF-8 bytes into writes of `size` bytes: characters and line ends get split on purpose. */
export function splitIntoByteChunks(text: string, size: number): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size));
  return chunks;
}

export interface UsageCounts {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(promptTokens: number, completionTokens: number): UsageCounts {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** A non-streamed OpenAI chat.completion with one choice per entry of `contents`. */
export function chatCompletionBody(options: {
  content?: string;
  contents?: string[];
  model?: string;
  finishReason?: string;
  usage?: UsageCounts;
}) {
  const contents = options.contents ?? [options.content ?? ""];
  return {
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: 1_700_000_000,
    model: options.model ?? "fake-model",
    choices: contents.map((content, index) => ({
      index,
      message: { role: "assistant", content, refusal: null },
      logprobs: null,
      finish_reason: options.finishReason ?? "stop",
    })),
    usage: options.usage ?? usage(5, contents.length),
  };
}

/**
 * The SSE writes of an OpenAI chat stream: a role chunk, one chunk per piece, a finish chunk, the
 * usage chunk (`choices: []`, as with stream_options.include_usage) and [DONE].
 */
export function chatCompletionChunks(options: { pieces: string[]; model?: string; finishReason?: string; usage?: UsageCounts }): string[] {
  const base = { id: "chatcmpl-fake", object: "chat.completion.chunk", created: 1_700_000_000, model: options.model ?? "fake-model" };
  const chunk = (delta: Record<string, unknown>, finishReason: string | null) =>
    sseEvent({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  return [
    chunk({ role: "assistant", content: "" }, null),
    ...options.pieces.map((piece) => chunk({ content: piece }, null)),
    chunk({}, options.finishReason ?? "stop"),
    sseEvent({ ...base, choices: [], usage: options.usage ?? usage(5, options.pieces.length) }),
    sseDone,
  ];
}

/** A non-streamed legacy text_completion (POST /v1/completions) with one choice per entry of `texts`. */
export function textCompletionBody(options: { text?: string; texts?: string[]; model?: string; finishReason?: string; usage?: UsageCounts }) {
  const texts = options.texts ?? [options.text ?? ""];
  return {
    id: "cmpl-fake",
    object: "text_completion",
    created: 1_700_000_000,
    model: options.model ?? "fake-model",
    choices: texts.map((text, index) => ({ index, text, logprobs: null, finish_reason: options.finishReason ?? "stop" })),
    usage: options.usage ?? usage(5, texts.length),
  };
}

/** The SSE writes of a streamed text completion: one chunk per piece, the last with the finish reason, usage, [DONE]. */
export function textCompletionChunks(options: { pieces: string[]; model?: string; finishReason?: string; usage?: UsageCounts }): string[] {
  const base = { id: "cmpl-fake", object: "text_completion", created: 1_700_000_000, model: options.model ?? "fake-model" };
  return [
    ...options.pieces.map((piece, position) =>
      sseEvent({
        ...base,
        choices: [{ index: 0, text: piece, logprobs: null, finish_reason: position === options.pieces.length - 1 ? (options.finishReason ?? "stop") : null }],
      }),
    ),
    sseEvent({ ...base, choices: [], usage: options.usage ?? usage(5, options.pieces.length) }),
    sseDone,
  ];
}
