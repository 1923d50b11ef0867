// Images in chat requests: OpenAI image_url parts checked at the edge, refused for a text-only model,
// forwarded as sent to a remote vision upstream, stored once by hash, logged by reference.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseServeFlags } from "../../src/cli/commands/serve.js";
import { createOpenAICompatibleModel } from "../../src/providers/openai/index.js";
import { createServerApp } from "../../src/server/app.js";
import { parseServeConfig, resolveServeConfig } from "../../src/server/config.js";
import { ImageIntake, imageBodyLimit } from "../../src/server/images/image-intake.js";
import { ImageStore, sha256Hex } from "../../src/server/images/image-store.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import { modelSpecs } from "../../src/server/server.js";
import { ConversationStore } from "../../src/server/store/conversations.js";
import { openServerDatabase } from "../../src/server/store/database.js";
import { RequestLog } from "../../src/server/store/request-log.js";
import { chatCompletionBody, chatCompletionChunks, jsonReply, sseReply, startFakeOpenAIServer, usage, type FakeOpenAIServer } from "../support/fake-openai-server.js";
import { FakeModel } from "./support/fake-model.js";
import { postJson, readSse } from "./support/test-server.js";

/** A 1×1 PNG. */
const pngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const pngUri = `data:image/png;base64,${pngBase64}`;
const pngBytes = Buffer.from(pngBase64, "base64");
const pngHash = sha256Hex(pngBytes);

const withImage = (model: string, url = pngUri, extra: Record<string, unknown> = {}) => ({
  model,
  max_tokens: 4,
  messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url, ...extra } }] }],
});

describe("images in chat requests", () => {
  let upstream: FakeOpenAIServer;
  let imageHost: Server;
  let imageHostUrl: string;
  let dir: string;
  const db = openServerDatabase(":memory:");
  const requestLog = new RequestLog(db);
  const conversations = new ConversationStore(db);
  let app: ReturnType<typeof createServerApp>["app"];
  let urlApp: ReturnType<typeof createServerApp>["app"];
  /** Fetches with a short timeout, for the URL that never answers (the others get a bound that only stops a hang). */
  let hangApp: ReturnType<typeof createServerApp>["app"];

  beforeAll(async () => {
    upstream = await startFakeOpenAIServer();
    dir = mkdtempSync(join(tmpdir(), "camelid-images-"));
    // Serves a PNG, a page, and one path that never answers (the fetch timeout's case).
    imageHost = createServer((request, response) => {
      if (request.url === "/cat.png") response.writeHead(200, { "content-type": "image/png" }).end(pngBytes);
      else if (request.url === "/page.html") response.writeHead(200, { "content-type": "text/html" }).end("<p>no</p>");
      else if (request.url === "/big.png") response.writeHead(200, { "content-type": "image/png" }).end(Buffer.concat([pngBytes, Buffer.alloc(5000)]));
      else if (request.url === "/missing.png") response.writeHead(404).end();
      // /hang: headers never come.
    });
    await new Promise<void>((resolve) => imageHost.listen(0, "127.0.0.1", resolve));
    imageHostUrl = `http://127.0.0.1:${(imageHost.address() as AddressInfo).port}`;
    const registry = () =>
      new ModelRegistry([
        {
          id: "seeing",
          kind: "remote",
          ownedBy: "upstream",
          capacity: 4,
          maxQueue: 4,
          capabilities: ["vision"],
          load: async () => createOpenAICompatibleModel({ baseURL: upstream.baseURL, model: "vision-upstream", api: "chat", maxRetries: 0 }),
        },
        { id: "blind", kind: "local", ownedBy: "camelid", capacity: 4, maxQueue: 4, load: async () => new FakeModel() },
      ]);
    const store = new ImageStore(join(dir, "images"));
    app = createServerApp({ registry: registry(), requestLog, conversations, images: new ImageIntake(store, { maxBytes: 1000, maxPerRequest: 2, allowUrls: false, fetchTimeoutMs: 5000 }) }).app;
    urlApp = createServerApp({ registry: registry(), images: new ImageIntake(store, { maxBytes: 1000, maxPerRequest: 4, allowUrls: true, fetchTimeoutMs: 60_000 }) }).app;
    hangApp = createServerApp({ registry: registry(), images: new ImageIntake(store, { maxBytes: 1000, maxPerRequest: 4, allowUrls: true, fetchTimeoutMs: 300 }) }).app;
  });
  afterAll(async () => {
    await upstream?.close();
    imageHost?.closeAllConnections();
    await new Promise((resolve) => imageHost?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const errorOf = async (response: Response) => ({ status: response.status, ...((await response.json()) as { error: { code: string; param: string; message: string } }).error });

  it("forwards image parts to a vision upstream as sent, text and images in order", async () => {
    upstream.enqueue(jsonReply(chatCompletionBody({ content: "A pixel.", usage: usage(9, 2) })));
    const response = await postJson(app, "/v1/chat/completions", withImage("seeing", pngUri, { detail: "low" }));
    expect(response.status).toBe(200);
    expect((await response.json()).choices[0].message.content).toBe("A pixel.");
    const sent = upstream.requests.at(-1)!.body as { messages: unknown[] };
    expect(sent.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: pngUri, detail: "low" } }] },
    ]);
  });

  it("answers 400 naming the model and the missing capability for a text-only model, before reading the image", async () => {
    const error = await errorOf(await postJson(app, "/v1/chat/completions", withImage("blind", "data:image/png;base64,@@@@")));
    expect(error).toMatchObject({ status: 400, code: "model_capability_missing", param: "model" });
    expect(error.message).toContain('"blind"');
    expect(error.message).toContain('"vision"');
    // The dry run refuses the same way.
    expect((await errorOf(await postJson(app, "/v1/chat/completions/render", withImage("blind")))).code).toBe("model_capability_missing");
  });

  it("refuses bad base64, unsupported types and oversized images with named errors", async () => {
    const cases: [string, string][] = [
      ["data:image/png;base64,iVBOR w0K", "image_bad_base64"],
      ["data:image/png;base64,iVBORw0KGgo", "image_bad_base64"],
      ["data:image/png,rawbytes", "image_bad_base64"],
      [`data:image/svg+xml;base64,${Buffer.from("<svg/>").toString("base64")}`, "image_unsupported_type"],
      [`data:image/png;base64,${Buffer.from("not a png at all").toString("base64")}`, "image_unsupported_type"],
      [`data:image/png;base64,${Buffer.concat([pngBytes, Buffer.alloc(2000)]).toString("base64")}`, "image_too_large"],
      ["ftp://example.com/cat.png", "image_unsupported_type"],
      ["https://example.com/cat.png", "image_url_not_allowed"],
      // The stored-image form the server's own arena requests use is not a client's URL.
      [`/api/images/${pngHash}`, "image_unsupported_type"],
    ];
    for (const [url, code] of cases) {
      const error = await errorOf(await postJson(app, "/v1/chat/completions", withImage("seeing", url)));
      expect(error, url).toMatchObject({ status: 400, code, param: "messages[0].content[1].image_url.url" });
    }
    const tooMany = { model: "seeing", messages: [{ role: "user", content: [1, 2, 3].map(() => ({ type: "image_url", image_url: { url: pngUri } })) }] };
    expect(await errorOf(await postJson(app, "/v1/chat/completions", tooMany))).toMatchObject({ status: 400, param: "messages" });
    const badShape = { model: "seeing", messages: [{ role: "user", content: [{ type: "image_url", image_url: { detail: "low" } }] }] };
    expect((await postJson(app, "/v1/chat/completions", badShape)).status).toBe(400);
    const badDetail = withImage("seeing", pngUri, { detail: "ultra" });
    expect((await postJson(app, "/v1/chat/completions", badDetail)).status).toBe(400);
  });

  it("fetches http(s) image URLs only when allowed, with the type, size and time limits", async () => {
    upstream.enqueue(jsonReply(chatCompletionBody({ content: "A cat.", usage: usage(9, 2) })));
    expect((await postJson(urlApp, "/v1/chat/completions", withImage("seeing", `${imageHostUrl}/cat.png`))).status).toBe(200);
    // The upstream gets the checked bytes, not a URL it would fetch again.
    const forwarded = (upstream.requests.at(-1)!.body as { messages: { content: { image_url?: { url: string } }[] }[] }).messages[0].content[1].image_url!.url;
    expect(forwarded).toBe(pngUri);
    expect((await errorOf(await postJson(urlApp, "/v1/chat/completions", withImage("seeing", `${imageHostUrl}/page.html`)))).code).toBe("image_unsupported_type");
    expect((await errorOf(await postJson(urlApp, "/v1/chat/completions", withImage("seeing", `${imageHostUrl}/big.png`)))).code).toBe("image_too_large");
    expect((await errorOf(await postJson(urlApp, "/v1/chat/completions", withImage("seeing", `${imageHostUrl}/missing.png`)))).code).toBe("image_fetch_failed");
    const hung = await errorOf(await postJson(hangApp, "/v1/chat/completions", withImage("seeing", `${imageHostUrl}/hang`)));
    expect(hung).toMatchObject({ code: "image_fetch_failed" });
    expect(hung.message).toContain("300 ms");
  });

  it("stores an image once by its hash and logs the hash, type and size, never the bytes", async () => {
    upstream.enqueue(jsonReply(chatCompletionBody({ content: "One.", usage: usage(9, 2) })));
    upstream.enqueue(jsonReply(chatCompletionBody({ content: "Two.", usage: usage(9, 2) })));
    const first = await postJson(app, "/v1/chat/completions", withImage("seeing"));
    await postJson(app, "/v1/chat/completions", withImage("seeing"));
    expect(readdirSync(join(dir, "images")).filter((name) => name.startsWith(pngHash))).toEqual([`${pngHash}.png`]);
    const row = db.prepare("SELECT messages FROM request_log WHERE id = ?").get(first.headers.get("x-request-id")) as { messages: string };
    expect(row.messages).not.toContain(pngBase64);
    expect(JSON.parse(row.messages)[0].content[1]).toEqual({ type: "image_url", image: { sha256: pngHash, mime_type: "image/png", size: pngBytes.length } });
    const image = await app.request(`/api/images/${pngHash}`);
    expect(image.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await image.arrayBuffer()).equals(pngBytes)).toBe(true);
    expect((await app.request(`/api/images/${"0".repeat(64)}`)).status).toBe(404);
  });

  it("keeps a conversation's images by reference, so a reload shows them and the branch can be sent again", async () => {
    const conversation = (await (await postJson(app, "/api/conversations", { title: "pics" })).json()) as { id: string };
    upstream.enqueue(sseReply(chatCompletionChunks({ pieces: ["A pixel."] })));
    const reply = await postJson(app, `/api/conversations/${conversation.id}/replies`, { request: withImage("seeing") });
    expect(reply.status).toBe(200);
    await readSse(reply);
    const saved = (await (await app.request(`/api/conversations/${conversation.id}`)).json()) as { messages: { role: string; content: string; images: unknown[] }[] };
    expect(saved.messages[0]).toMatchObject({ role: "user", content: "What is this?", images: [{ sha256: pngHash, mime_type: "image/png", size: pngBytes.length }] });
    // The next turn carries the branch: the same image again is accepted, another one is not the stored turn.
    const next = (url: string) => ({
      request: {
        model: "seeing",
        messages: [withImage("seeing", url).messages[0], { role: "assistant", content: "A pixel." }, { role: "user", content: "And now?" }],
      },
    });
    const gif = `data:image/gif;base64,${Buffer.from("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "latin1").toString("base64")}`;
    expect((await errorOf(await postJson(app, `/api/conversations/${conversation.id}/replies`, next(gif)))).param).toBe("request.messages[0]");
    upstream.enqueue(sseReply(chatCompletionChunks({ pieces: ["Still a pixel."] })));
    const second = await postJson(app, `/api/conversations/${conversation.id}/replies`, next(pngUri));
    expect(second.status).toBe(200);
    await readSse(second);
  });

  it("lets the body of a route that carries images follow the image limits; other routes keep theirs, and 413 names the limit", async () => {
    const images = { maxBytes: 64 * 1024, maxPerRequest: 2, allowUrls: false, fetchTimeoutMs: 5000 };
    const registry = new ModelRegistry([
      { id: "seeing", kind: "remote", ownedBy: "upstream", capacity: 4, maxQueue: 4, capabilities: ["vision"], load: async () => createOpenAICompatibleModel({ baseURL: upstream.baseURL, model: "vision-upstream", api: "chat", maxRetries: 0 }) },
    ]);
    const small = createServerApp({ registry, bodyLimitBytes: 4096, images: new ImageIntake(new ImageStore(join(dir, "images")), images) }).app;
    const imageOf = (bytes: number) => `data:image/png;base64,${Buffer.concat([pngBytes, Buffer.alloc(bytes - pngBytes.length, 7)]).toString("base64")}`;
    const limit = imageBodyLimit(images, 4096);
    expect(limit).toBeGreaterThan(2 * Math.ceil((64 * 1024) / 3) * 4);

    // Two images at the size limit: far over the 4 KiB body limit, accepted.
    upstream.enqueue(jsonReply(chatCompletionBody({ content: "Two.", usage: usage(9, 2) })));
    const two = { ...withImage("seeing", imageOf(64 * 1024)), messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: imageOf(64 * 1024) } }, { type: "image_url", image_url: { url: imageOf(64 * 1024 - 1) } }] }] };
    const accepted = await postJson(small, "/v1/chat/completions", two);
    expect(accepted.status).toBe(200);
    // An image over the size limit is that image's error, not the body's.
    expect((await errorOf(await postJson(small, "/v1/chat/completions", withImage("seeing", imageOf(64 * 1024 + 1))))).code).toBe("image_too_large");
    // Past the image route's own limit: 413 naming it.
    const tooBig = await errorOf(await postJson(small, "/v1/chat/completions", { model: "seeing", messages: [{ role: "user", content: "x".repeat(limit + 1) }] }));
    expect(tooBig).toMatchObject({ status: 413, code: "request_too_large" });
    expect(tooBig.message).toContain(`${limit} bytes`);
    // A route that carries no images keeps the ordinary limit.
    const other = await errorOf(await postJson(small, "/v1/completions", { model: "seeing", prompt: "x".repeat(8192) }));
    expect(other).toMatchObject({ status: 413, code: "request_too_large" });
    expect(other.message).toContain("4096 bytes");
  });

  it("says which models take images in /v1/models, from the remote's vision flag in the config", async () => {
    const list = (await (await app.request("/v1/models")).json()) as { data: { id: string; capabilities: string[] }[] };
    expect(Object.fromEntries(list.data.map((model) => [model.id, model.capabilities]))).toEqual({ seeing: ["vision"], blind: [] });
    const file = {
      remotes: [
        { name: "ollama", baseURL: "http://127.0.0.1:11434/v1", vision: true, models: ["llava", { id: "plain", vision: false }] },
        { name: "vllm", baseURL: "http://127.0.0.1:8000/v1", models: ["text-only", { id: "qwen-vl", vision: true }] },
      ],
      images: { maxBytes: 2048, allowUrls: true },
    };
    parseServeConfig(file);
    const configDir = mkdtempSync(join(tmpdir(), "camelid-images-config-"));
    try {
      const path = join(configDir, "serve.json");
      (await import("node:fs")).writeFileSync(path, JSON.stringify(file));
      const config = resolveServeConfig({ config: path, maxImageBytes: 4096 }, {}, configDir);
      expect(config.images).toEqual({ maxBytes: 4096, maxPerRequest: 16, allowUrls: true, fetchTimeoutMs: 10_000 });
      const factories = { local: () => new FakeModel(), remote: () => new FakeModel() };
      expect(Object.fromEntries(modelSpecs(config, factories).map((spec) => [spec.id, spec.capabilities ?? []]))).toEqual({
        llava: ["vision"],
        plain: [],
        "text-only": [],
        "qwen-vl": ["vision"],
      });
    } finally {
      rmSync(configDir, { recursive: true, force: true });
    }
    expect(() => parseServeConfig({ images: { maxBytes: 0 } })).toThrow(/images\.maxBytes/);

    // A local model sees with a projector, which only the llama-server engine can use.
    const modelDir = mkdtempSync(join(tmpdir(), "camelid-images-mmproj-"));
    try {
      const fs = await import("node:fs");
      fs.writeFileSync(join(modelDir, "m.gguf"), "");
      fs.writeFileSync(join(modelDir, "mmproj.gguf"), "");
      const factories = { local: () => new FakeModel(), remote: () => new FakeModel() };
      const seeing = resolveServeConfig(parseServeFlags(["--model", "m.gguf", "--engine", "llama-server", "--mmproj", "mmproj.gguf"]), {}, modelDir);
      expect(seeing.localModels[0].mmproj).toBe(join(modelDir, "mmproj.gguf"));
      expect(modelSpecs(seeing, factories)[0].capabilities).toEqual(["vision"]);
      expect(modelSpecs(resolveServeConfig(parseServeFlags(["--model", "m.gguf"]), {}, modelDir), factories)[0].capabilities).toBeUndefined();
      expect(() => resolveServeConfig(parseServeFlags(["--model", "m.gguf", "--mmproj", "mmproj.gguf"]), {}, modelDir)).toThrow(/needs the llama-server engine/);
      expect(() => resolveServeConfig(parseServeFlags(["--model", "m.gguf", "--engine", "llama-server", "--mmproj", "gone.gguf"]), {}, modelDir)).toThrow(/projector .*gone\.gguf does not exist/);
    } finally {
      rmSync(modelDir, { recursive: true, force: true });
    }
    expect(parseServeFlags(["--allow-image-urls", "--max-image-bytes", "1024"])).toMatchObject({ allowImageUrls: true, maxImageBytes: 1024 });
    expect(() => parseServeFlags(["--max-image-bytes", "0"])).toThrow(/--max-image-bytes/);
  });
});
