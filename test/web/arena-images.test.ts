// Issue 16 point 2, the arena: anonymous battles take images when both sides can see. A message with
// images only draws pairs of models that can see; a named model that cannot answers 400 naming it and
// the capability, as chat does; a later turn with images in a battle whose sides cannot see is refused
// naming only the side. The sides get the images through chat's own path; the battle and the request
// log keep hashes, never bytes; the arena's image routes take bodies as large as the image limits allow.
import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import type { PublicBattleView } from "../../src/server/arena/battle-rules.js";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { buildRequestBody } from "../../src/providers/openai/request-body.js";
import { imageBodyLimit } from "../../src/server/images/image-intake.js";
import { ImageStore, sha256Hex } from "../../src/server/images/image-store.js";
import type { CallOptions } from "../../src/spec/index.js";
import type { ImageMimeType } from "../../src/spec/messages.js";
import { everyone } from "../../src/server/context.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { createArenaApp, readEvents } from "./support/arena-app.js";

const newDirectory = temporaryDirectories("camelid-arena-images-");
const pngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const pngBytes = Buffer.from(pngBase64, "base64");
const image = { type: "image_url", image_url: { url: `data:image/png;base64,${pngBase64}` } };
const models = ["alpha", "beta", "gamma", "delta"];
/** An image store that counts its writes: each image should be stored once per battle, not once per answer. */
class CountingImageStore extends ImageStore {
  puts = 0;
  override put(bytes: Uint8Array, mimeType: ImageMimeType) {
    this.puts++;
    return super.put(bytes, mimeType);
  }
}
/** What a remote upstream is sent for these call options: the OpenAI request body. */
const wireBody = (options: CallOptions) => buildRequestBody({ model: "m", api: "chat", flavor: "openai", options, stream: true, messages: options.messages }).body;
const imagesSeen = (options: { messages?: { parts?: { type: string }[] }[] }) => (options.messages ?? []).flatMap((message) => message.parts ?? []).filter((part) => part.type === "image").length;

describe("images in anonymous battles", () => {
  it("draws only models that can see for a message with images, and refuses a named one that cannot", async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const arena = createArenaApp({ models, vision: ["beta", "delta"], imagesDirectory: newDirectory(), random });
    for (let draw = 0; draw < 12; draw++) {
      const response = await arena.call("POST", "/api/arena/battles", { message: "What is it?", images: [image] });
      expect(response.status).toBe(201);
      const battle = (await response.json()) as PublicBattleView;
      expect(battle.models).toBeNull();
      expect(Object.values(arena.store.get(battle.id)!.models).sort()).toEqual(["beta", "delta"]);
    }
    // Named models: one that cannot see answers 400 naming it and the capability.
    const named = await arena.call("POST", "/api/arena/battles", { message: "What is it?", images: [image], models: ["beta", "alpha"] });
    expect(named.status).toBe(400);
    const error = ((await named.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("model_capability_missing");
    expect(error.message).toContain('"alpha"');
    expect(error.message).toContain('"vision"');
    // Fewer than two that can see: said so.
    const lonely = createArenaApp({ models, vision: ["beta"], imagesDirectory: newDirectory() });
    const refused = await lonely.call("POST", "/api/arena/battles", { message: "What is it?", images: [image] });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/two models that can see.*only "beta"/);
  });

  it("sends both sides the images through chat's path, keeps hashes (never bytes) in the battle and the log", async () => {
    const arena = createArenaApp({ models: ["alpha", "beta"], vision: ["alpha", "beta"], imagesDirectory: newDirectory() });
    const created = await arena.call("POST", "/api/arena/battles", { message: "What is it?", images: [image, image] });
    expect(created.status).toBe(201);
    const battle = (await created.json()) as PublicBattleView;
    const reference = { sha256: sha256Hex(pngBytes), mime_type: "image/png", size: pngBytes.length };
    expect(battle.turns[0].images).toEqual([reference, reference]);
    for (const side of ["a", "b"]) {
      const events = await readEvents(await arena.call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {}));
      expect(events.at(-1)).toMatchObject({ type: "done" });
    }
    for (const model of Object.values(arena.models)) {
      const call = model.calls.at(-1)!;
      expect(imagesSeen(call)).toBe(2);
      expect(call.messages?.[0].parts?.[0]).toMatchObject({ type: "image", image: { sha256: reference.sha256, mimeType: "image/png" } });
    }
    // The second turn sends the first turn's images again, with the new ones.
    const turn = await arena.call("POST", `/api/arena/battles/${battle.id}/turns`, { message: "And this?", images: [image] });
    expect(turn.status).toBe(201);
    await readEvents(await arena.call("POST", `/api/arena/battles/${battle.id}/answers/a`, {}));
    expect(imagesSeen(arena.models[arena.store.get(battle.id)!.models.a].calls.at(-1)!)).toBe(3);

    const stored = arena.db.prepare("SELECT images FROM arena_turns WHERE battle_id = ? ORDER BY turn").all(battle.id) as { images: string }[];
    expect(stored.map((row) => JSON.parse(row.images))).toEqual([[reference, reference], [reference]]);
    const logged = arena.requestLog!.recent(10, everyone).map((row) => row.messages ?? "");
    expect(logged.length).toBe(3);
    for (const messages of logged) {
      expect(messages).toContain(reference.sha256);
      expect(messages).not.toContain(pngBase64.slice(0, 40));
    }
  });

  it("refuses a later turn with images when a side cannot see, naming the side, not the model", async () => {
    const arena = createArenaApp({ models: ["alpha", "beta"], vision: ["beta"], imagesDirectory: newDirectory(), random: () => 0 });
    const battle = (await (await arena.call("POST", "/api/arena/battles", { message: "Hi" })).json()) as PublicBattleView;
    for (const side of ["a", "b"]) await readEvents(await arena.call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {}));
    const response = await arena.call("POST", `/api/arena/battles/${battle.id}/turns`, { message: "Look", images: [image] });
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("model_capability_missing");
    expect(error.message).toMatch(/^model A of this battle cannot take images/);
    expect(error.message).not.toMatch(/alpha|beta/);
    expect(arena.store.get(battle.id)!.turns).toHaveLength(1);
  });

  it("takes a battle's images in a body as large as the image limits allow, beyond the ordinary limit", async () => {
    const imageOptions = { maxBytes: 16 * 1024, maxPerRequest: 2, allowUrls: false, fetchTimeoutMs: 5000 };
    const limit = imageBodyLimit(imageOptions, 2048);
    const arena = createArenaApp({ models: ["alpha", "beta"], vision: ["alpha", "beta"], imagesDirectory: newDirectory(), imageOptions, bodyLimitBytes: 2048 });
    const big = { type: "image_url", image_url: { url: `data:image/png;base64,${Buffer.concat([pngBytes, Buffer.alloc(8000, 1)]).toString("base64")}` } };
    expect((await arena.call("POST", "/api/arena/battles", { message: "Big", images: [big] })).status).toBe(201);
    // Past it, 413 names the arena route's limit.
    const tooLarge = await arena.call("POST", "/api/arena/battles", { message: "x".repeat(limit + 1) });
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as { error: { message: string } }).error.message).toContain(`${limit} bytes`);
    // Routes that carry no images keep the ordinary limit.
    const vote = await arena.call("POST", "/api/arena/battles/x/vote", { winner: "a", padding: "x".repeat(4096) });
    expect(vote.status).toBe(413);
  });

  it("answers each side from the stored images: no second decode or store per answer, the same prompt, usage and log row as a data: URI", async () => {
    const imageStore = new CountingImageStore(newDirectory());
    const arena = createArenaApp({ models: ["alpha", "beta"], vision: ["alpha", "beta"], imagesDirectory: imageStore.directory, imageStore, imageTokens: 5, reply: (id) => `${id} sees it` });
    const battle = (await (await arena.call("POST", "/api/arena/battles", { message: "What is it?", images: [image] })).json()) as PublicBattleView;
    expect(imageStore.puts).toBe(1);
    for (const side of ["a", "b"]) expect((await readEvents(await arena.call("POST", `/api/arena/battles/${battle.id}/answers/${side}`, {}))).at(-1)).toMatchObject({ type: "done" });
    // One write per image per battle: answering both sides wrote nothing again.
    expect(imageStore.puts).toBe(1);
    await arena.call("POST", `/api/arena/battles/${battle.id}/turns`, { message: "And now?", images: [image] });
    expect(imageStore.puts).toBe(2);
    await readEvents(await arena.call("POST", `/api/arena/battles/${battle.id}/answers/a`, {}));
    expect(imageStore.puts).toBe(2);

    // The same conversation sent to the same model through /v1/chat/completions with data: URIs.
    const modelA = arena.store.get(battle.id)!.models.a;
    const arenaCall = arena.models[modelA].calls.at(-1)!;
    const answerA = arena.store.get(battle.id)!.turns[0].answers.a.text;
    const chat = await arena.call("POST", "/v1/chat/completions", {
      model: modelA,
      stream: true,
      messages: [
        { role: "user", content: [image, { type: "text", text: "What is it?" }] },
        { role: "assistant", content: answerA },
        { role: "user", content: [image, { type: "text", text: "And now?" }] },
      ],
    });
    expect(chat.status).toBe(200);
    await chat.text();
    const chatCall = arena.models[modelA].calls.at(-1)!;
    expect(chatCall).not.toBe(arenaCall);
    // What the model sees: the same messages, image bytes and hashes (only the client's URL is absent), the same wire body.
    const withoutUrls = (options: CallOptions) => JSON.stringify(options.messages, (key, value: unknown) => (key === "url" ? undefined : value instanceof Uint8Array ? Buffer.from(value).toString("hex") : value));
    expect(withoutUrls(arenaCall)).toBe(withoutUrls(chatCall));
    expect(JSON.stringify(wireBody(arenaCall))).toBe(JSON.stringify(wireBody(chatCall)));
    // What the request log records: the same rendered prompt, usage and messages.
    const rows = arena.requestLog!.recent(10, everyone);
    const arenaRow = rows.find((row) => row.id.startsWith(`arena-${battle.id}-1-a`))!;
    const chatRow = rows.find((row) => !row.id.startsWith("arena-"))!;
    for (const field of ["prompt", "prompt_tokens", "completion_tokens", "messages"] as const) expect(arenaRow[field], field).toEqual(chatRow[field]);
    expect(arenaRow.prompt).toContain("<__media__>");
    expect(arenaRow.prompt_tokens).toBeGreaterThan(0);
  });

  it("answers 404 image_not_stored, not a 500, when a turn's image is no longer stored", async () => {
    const directory = newDirectory();
    const arena = createArenaApp({ models: ["alpha", "beta"], vision: ["alpha", "beta"], imagesDirectory: directory });
    const battle = (await (await arena.call("POST", "/api/arena/battles", { message: "What is it?", images: [image] })).json()) as PublicBattleView;
    rmSync(join(directory, `${sha256Hex(pngBytes)}.png`));
    const response = await arena.call("POST", `/api/arena/battles/${battle.id}/answers/a`, {});
    expect(response.status).toBe(404);
    const error = ((await response.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("image_not_stored");
    expect(error.message).toMatch(/^answer A failed \(404 image_not_stored\)/);
    expect(arena.store.get(battle.id)!.turns[0].answers.a.status).toBe("failed");
  });

  it("exports each turn's images (hash, type, size; never the bytes) on its user message, in every arena export", async () => {
    const arena = createArenaApp({ models: ["alpha", "beta"], vision: ["alpha", "beta"], imagesDirectory: newDirectory(), reply: (id) => `${id} sees it` });
    const answerBoth = async (id: string) => {
      for (const side of ["a", "b"]) await readEvents(await arena.call("POST", `/api/arena/battles/${id}/answers/${side}`, {}));
    };
    const battle = (await (await arena.call("POST", "/api/arena/battles", { message: "What is it?", images: [image, image], settings: { system_prompt: "Be brief." } })).json()) as PublicBattleView;
    await answerBoth(battle.id);
    await arena.call("POST", `/api/arena/battles/${battle.id}/turns`, { message: "And the colour?" });
    await answerBoth(battle.id);
    expect((await arena.call("POST", `/api/arena/battles/${battle.id}/vote`, { winner: "a" })).status).toBe(200);
    // A text-only battle beside it keeps its rows as they were: no images field anywhere.
    const plain = (await (await arena.call("POST", "/api/arena/battles", { message: "Hi" })).json()) as PublicBattleView;
    await answerBoth(plain.id);
    expect((await arena.call("POST", `/api/arena/battles/${plain.id}/vote`, { winner: "b" })).status).toBe(200);

    const reference = { sha256: sha256Hex(pngBytes), mime_type: "image/png", size: pngBytes.length };
    const expectedConversation = (side: "a" | "b") => {
      const answers = arena.store.get(battle.id)!.turns.map((turn) => turn.answers[side].text);
      return [
        { role: "system", content: "Be brief." },
        { role: "user", content: "What is it?", images: [reference, reference] },
        { role: "assistant", content: answers[0] },
        { role: "user", content: "And the colour?" },
        { role: "assistant", content: answers[1] },
      ];
    };
    const rowsText = await (await arena.call("GET", "/api/arena/export/battles.json")).text();
    expect(rowsText).not.toContain(pngBase64.slice(0, 40));
    const rows = JSON.parse(rowsText) as { battle_id: string; conversation_a: unknown; conversation_b: unknown }[];
    const row = rows.find((entry) => entry.battle_id === battle.id)!;
    expect(row.conversation_a).toEqual(expectedConversation("a"));
    expect(row.conversation_b).toEqual(expectedConversation("b"));
    expect(JSON.stringify(rows.find((entry) => entry.battle_id === plain.id))).not.toContain("images");

    const single = (await (await arena.call("GET", `/api/arena/battles/${battle.id}/export`)).json()) as { conversations: Record<"a" | "b", unknown> };
    expect(single.conversations.a).toEqual(expectedConversation("a"));
    expect(single.conversations.b).toEqual(expectedConversation("b"));

    const pairs = (await (await arena.call("GET", "/api/arena/export/preferences.jsonl")).text()).trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    const pair = pairs.find((entry) => entry.battle_id === battle.id)!;
    expect(pair).toMatchObject({ prompt: "And the colour?", prompt_images: [], history_images: [[reference, reference]] });
    expect((pair.history as unknown[]).length).toBe(1);
    const plainPair = pairs.find((entry) => entry.battle_id === plain.id)!;
    expect(plainPair).not.toHaveProperty("prompt_images");
    expect(plainPair).not.toHaveProperty("history_images");
  });
});
