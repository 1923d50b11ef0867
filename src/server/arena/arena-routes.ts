// /api/arena: anonymous battles (the server draws the models and keeps their names), streamed
// answers, votes, the leaderboard and exports. The browser only ever sees positions A and B.
import { getRandomValues } from "node:crypto";
import type { Context } from "hono";
import { z } from "zod";
import { InvalidArgumentError, ModelCapabilityError, ModelLoadError, UnsupportedFeatureError, toHttpError, type HttpError, type OpenAIErrorBody } from "../../errors/index.js";
import { prepareChatCall } from "../images/chat-images.js";
import { storedImagePath } from "../images/image-intake.js";
import type { ImageReference } from "../images/image-store.js";
import { clientIdentity, type ServerApp, type ServerContext, type ServerEnv } from "../context.js";
import type { ModelRegistry } from "../model-registry.js";
import type { RequestLogRow } from "../store/request-log.js";
import { ResourceNotFoundError, serverHttpError } from "../http-errors.js";
import { integerQuery } from "../routes/query.js";
import { parseRequestBody, readJsonBody } from "../openai/parse-body.js";
import { chatCompletionRequestSchema, imageUrlPartSchema, samplingOptionsSchema, type ImageUrlPart } from "../openai/request-schemas.js";
import { sseResponse } from "../openai/sse-response.js";
import { BattleStateError } from "./arena-errors.js";
import { conversationOf, toBattleRows, toPreferencePairs, toRatingBattles } from "./arena-exports.js";
import { leaderboardChart, leaderboardResponse, parseLeaderboardQuery } from "./arena-leaderboard.js";
import type { ArenaStore, BattleRecord, BattleSettings, BattleSide } from "./arena-store.js";
import { assertCanAddTurn, assertCanAnswer, assertCanRegenerate, assertCanVote, assertOwner, drawBattleModels, publicBattleSummary, publicBattleView, voteChoices, type PublicBattleView } from "./battle-rules.js";

export interface ArenaOptions {
  store: ArenaStore;
  /** Votes one client (API key name, else peer address) may cast per UTC day (default 100). */
  votesPerClientPerDay?: number;
  /** Uniform [0, 1); injected so tests can check the draw. Default: crypto-strong. */
  random?: () => number;
  /** Bootstrap rounds for the leaderboard's 95% intervals when the query does not say (default 200). */
  bootstrapRounds?: number;
}

/** The shared sampling rules (samplingOptionsSchema) plus the system prompt both sides get. */
const settingsSchema = samplingOptionsSchema
  .pick({ temperature: true, top_p: true, top_k: true, max_tokens: true, seed: true, stop: true })
  .partial()
  .extend({ system_prompt: z.string().max(100_000).optional() })
  .strict();
/** A message's images, as chat takes them (OpenAI image_url parts); the server's image limits apply. */
const imagesSchema = z.array(imageUrlPartSchema).max(256).optional();
const createSchema = z.object({
  message: z.string().trim().min(1, "the first message must not be empty").max(100_000),
  images: imagesSchema,
  settings: settingsSchema.optional(),
  /** Restrict the draw to these models (default: every served model). */
  models: z.array(z.string().min(1)).min(2).max(100).optional(),
  /** What the battle is about ("coding", "writing"…): the leaderboard can be shown per category. */
  category: z.string().trim().min(1).max(64).optional(),
});
const turnSchema = z.object({ message: z.string().trim().min(1, "the message must not be empty").max(100_000), images: imagesSchema });
const answerSchema = z.object({ turn: z.number().int().min(0).optional() });
const voteSchema = z.object({ winner: z.enum(["a", "b", "tie", "bothbad"]) });
const selectSchema = z.object({ turn: z.number().int().min(0).optional(), version: z.number().int().min(0) });

/** One `data:` payload of a battle answer's SSE stream. */
export type BattleAnswerEvent =
  | { type: "delta"; text: string }
  | { type: "done"; finish_reason: string; completion_tokens: number }
  | { type: "error"; message: string };
const answerEvent = (event: BattleAnswerEvent): string => JSON.stringify(event);

/** GET /api/arena/battles: the caller's battles, names hidden until the vote. */
export interface BattleSummaryList {
  object: "list";
  data: ReturnType<typeof publicBattleSummary>[];
}

/** The vote route's answer: the battle, names revealed, and the votes this client has left today. */
export type VoteResponse = PublicBattleView & { votes_left_today: number };

/** The arena routes that generate (one side's answer, a regenerated answer): refused early when every queue is full. */
export const arenaAnswerPaths = { answer: "/api/arena/battles/:id/answers/:side", regenerate: "/api/arena/battles/:id/answers/:side/regenerate" } as const;

/** The arena routes whose bodies may carry images (a battle's first message, a later turn). */
export const arenaImagePaths = ["/api/arena/battles", "/api/arena/battles/:id/turns"] as const;

/** A path parameter the route pattern guarantees; typed as string for handlers built outside app.post(). */
const param = (c: Context<ServerEnv>, name: string): string => c.req.param(name) ?? "";

const toSettings = (raw: z.infer<typeof settingsSchema> = {}): BattleSettings =>
  Object.fromEntries(
    Object.entries({
      systemPrompt: raw.system_prompt || undefined,
      temperature: raw.temperature,
      topP: raw.top_p,
      topK: raw.top_k,
      maxTokens: raw.max_tokens,
      seed: raw.seed,
      stop: raw.stop === undefined ? undefined : typeof raw.stop === "string" ? [raw.stop] : raw.stop,
    }).filter(([, value]) => value !== undefined),
  ) as BattleSettings;

/**
 * The chat request one side sends: its own earlier answers, the shared user turns (their images first,
 * named by their place in the image store, then the text, as the playground's chat sends them), shared
 * settings. prepareChatCall takes the stored images as they are (`storedImages`): read, checked and
 * stored once when the turn was sent, not again for every answer.
 */
function chatRequestFor(battle: BattleRecord, side: BattleSide, turn: number) {
  type Content = string | ({ type: "text"; text: string } | ImageUrlPart)[];
  const messages: { role: "system" | "user" | "assistant"; content: Content }[] = [];
  if (battle.settings.systemPrompt) messages.push({ role: "system", content: battle.settings.systemPrompt });
  for (const past of battle.turns) {
    const images = past.images ?? [];
    messages.push({
      role: "user",
      content: images.length === 0 ? past.userMessage : [...images.map((image): ImageUrlPart => ({ type: "image_url", image_url: { url: storedImagePath(image.sha256) } })), { type: "text", text: past.userMessage }],
    });
    if (past.turn === turn) break;
    messages.push({ role: "assistant", content: past.answers[side].text });
  }
  const s = battle.settings;
  // Through the request parser: settings stored before the shared rules existed fail as a 400 naming the field.
  return parseRequestBody(JSON.stringify({
    model: battle.models[side],
    messages,
    stream: true,
    temperature: s.temperature,
    top_p: s.topP,
    top_k: s.topK,
    max_tokens: s.maxTokens,
    seed: s.seed,
    stop: s.stop,
  }), chatCompletionRequestSchema);
}

/**
 * The request-log id of one side's answer (a regeneration's carries its version, a retry its
 * attempt: ids are unique); arenaBattleOfRequest reads the battle back out of it.
 */
const arenaRequestId = (battleId: string, turn: number, side: BattleSide, { version, attempt }: { version: number; attempt: number }) =>
  `arena-${battleId}-${turn}-${side}${version > 0 ? `-r${version}` : ""}${attempt > 1 ? `-try${attempt}` : ""}`;
const arenaRequestPattern = /^arena-([0-9a-f-]{36})-\d+-[ab](?:-r\d+)?(?:-try\d+)?$/;
const arenaBattleOfRequest = (requestId: string): string | undefined => arenaRequestPattern.exec(requestId)?.[1];

/** An arena row as the request log shows it before the vote: nothing that tells the model. */
function hiddenArenaRow(row: RequestLogRow): RequestLogRow {
  const { model: _model, ...parameters } = JSON.parse(row.parameters) as Record<string, unknown>;
  return {
    ...row,
    model: "(hidden until the vote)",
    parameters: JSON.stringify(parameters),
    prompt: null,
    prompt_tokens: null,
    completion_tokens: null,
    error: row.error === null ? null : "(hidden until the vote)",
    // The upstream's name or URL could tell the model too.
    replica: row.replica === null ? null : "(hidden until the vote)",
  };
}

/**
 * A side's failure as the voter may see it: the status and error code, never the message, which can
 * name the model (its file path, its upstream URL or id) while the battle is still anonymous.
 */
function anonymousFailure(http: HttpError, side: BattleSide): OpenAIErrorBody {
  const code = http.body.error.code ?? http.body.error.type;
  return {
    error: {
      message: `answer ${side.toUpperCase()} failed (${http.status} ${code}); the model's own message is hidden to keep the battle anonymous`,
      type: http.body.error.type,
      param: null,
      code: http.body.error.code,
    },
  };
}

/**
 * Two models for a new battle, never one that fails to load: models the registry knows failed stay
 * out of the draw, and the drawn pair is loaded before the battle exists (lazy loading); a model that
 * fails then leaves the pool and a pair is drawn again from the rest, so the draw stays uniform over
 * the models that work.
 */
async function drawLoadableModels(registry: ModelRegistry, pool: readonly string[], random: () => number): Promise<Record<BattleSide, string>> {
  const failed = new Map<string, string>();
  for (const id of pool) {
    const status = registry.get(id).status();
    if (status.state === "failed") failed.set(id, status.error ?? "it failed to load");
  }
  for (;;) {
    const candidates = pool.filter((id) => !failed.has(id));
    if (new Set(candidates).size < 2 && failed.size > 0) {
      const reasons = [...failed].map(([id, error]) => `${id}: ${error}`).join("; ");
      throw new ModelLoadError([...failed.keys()].join(", "), `an anonymous battle needs two models that load; ${failed.size} failed (${reasons})`);
    }
    const pair = drawBattleModels(candidates, random);
    const loads = await Promise.allSettled([pair.a, pair.b].map((id) => registry.get(id).model()));
    loads.forEach((load, index) => {
      if (load.status === "rejected") failed.set(index === 0 ? pair.a : pair.b, load.reason instanceof Error ? load.reason.message : String(load.reason));
    });
    if (loads.every((load) => load.status === "fulfilled")) return pair;
  }
}

export function registerArenaRoutes(app: ServerApp, context: ServerContext, options: ArenaOptions): void {
  const store = options.store;
  const votesPerDay = options.votesPerClientPerDay ?? 100;
  const random = options.random ?? (() => getRandomValues(new Uint32Array(1))[0] / 2 ** 32);
  /** Answers being generated right now, as "battleId:side": a second stream of the same side is refused. */
  const streaming = new Set<string>();
  const isStreaming = (id: string) => (side: BattleSide) => streaming.has(`${id}:${side}`);

  const battleOf = (id: string): BattleRecord => {
    const battle = store.get(id);
    if (!battle) throw new ResourceNotFoundError("battle", `battle "${id}" not found`);
    return battle;
  };
  const view = (battle: BattleRecord) => publicBattleView(battle, isStreaming(battle.id));
  /** An admin key may read every battle (it never votes or answers for another key). */
  const isAdmin = (c: Context<ServerEnv>) => c.get("keyName") !== undefined && c.get("visibility").seesAll;
  /** Voted battles whose conversations this request may export: its own, or all for an admin / no keys. */
  const exportable = (c: Context<ServerEnv>) => {
    const battles = store.votedBattles();
    return c.get("visibility").seesAll ? battles : battles.filter((battle) => battle.client === clientIdentity(c));
  };

  // Before the vote nothing may tell the models apart: the request log shows arena rows without the
  // model, its rendered prompt (the template names the family) or token counts (the tokenizer does).
  context.requestLogViews.push((rows) => {
    const battleIds = rows.map((row) => arenaBattleOfRequest(row.id)).filter((id) => id !== undefined);
    // One query for the page's battles (not one battle read per row).
    const revealed = battleIds.length > 0 ? store.revealedBattles(battleIds) : new Set<string>();
    return rows.map((row) => {
      const battleId = arenaBattleOfRequest(row.id);
      return battleId === undefined || revealed.has(battleId) ? row : hiddenArenaRow(row);
    });
  });
  const canSee = (id: string) => context.registry.get(id).spec.capabilities?.includes("vision") === true;
  /** A message's images read through chat's intake (checked, stored once by hash): what the turn keeps. */
  const readImages = async (parts: ImageUrlPart[] | undefined): Promise<ImageReference[]> => {
    if (!parts || parts.length === 0) return [];
    const intake = context.images;
    if (!intake) throw new UnsupportedFeatureError("this server keeps no images (it has no data directory)");
    if (parts.length > intake.options.maxPerRequest) throw new InvalidArgumentError("images", `the message has ${parts.length} images; this server takes at most ${intake.options.maxPerRequest} per message`);
    const read = [];
    for (const [index, part] of parts.entries()) read.push((await intake.read(part.image_url.url, part.image_url.detail, `images[${index}].image_url.url`)).reference);
    return read;
  };
  const parseSide = (value: string): BattleSide => {
    if (value !== "a" && value !== "b") throw new ResourceNotFoundError("battle side", `no side "${value}": a battle has sides "a" and "b"`);
    return value;
  };

  /** A request about one side's answer: the owner's battle, the side, the body, and the turn (default: the latest). */
  async function sideRequest<Body extends { turn?: number }>(c: Context<ServerEnv>, schema: z.ZodType<Body>, options: { emptyAs?: object } = {}) {
    const battle = battleOf(param(c, "id"));
    const side = parseSide(param(c, "side"));
    assertOwner(battle, clientIdentity(c));
    const body = (await readJsonBody(c.req, schema, options)) as Body;
    const turn = body.turn ?? battle.turns[battle.turns.length - 1].turn;
    return { battle, side, body, turn };
  }

  app.post(
    "/api/arena/battles",
    async (c) => {
      const body = await readJsonBody(c.req, createSchema);
      const served = context.registry.list().map((entry) => entry.id);
      // A model whose last load failed would only hand the voter a broken side: never drawn by default.
      let pool = body.models ?? served.filter((id) => context.registry.get(id).status().state !== "failed");
      for (const id of pool) context.registry.get(id); // unknown names: 404 naming the model
      if (body.images && body.images.length > 0) {
        // A message with images: only models that can see are drawn; a named one that cannot is refused as chat refuses it.
        const blind = body.models?.find((id) => !canSee(id));
        if (blind) throw new ModelCapabilityError(blind, "vision");
        pool = pool.filter(canSee);
        const seeing = [...new Set(pool)];
        if (seeing.length < 2) {
          throw new InvalidArgumentError("images", `a battle with images needs two models that can see (the "vision" capability); ${seeing.length === 0 ? "none is" : `only "${seeing[0]}" is`} served`);
        }
      }
      const images = await readImages(body.images);
      const models = await drawLoadableModels(context.registry, pool, random);
      const battle = store.createBattle({
        client: clientIdentity(c),
        models,
        settings: toSettings(body.settings),
        firstMessage: body.message,
        ...(images.length > 0 ? { images } : {}),
        ...(body.category !== undefined ? { category: body.category } : {}),
      });
      return c.json(view(battle), 201);
    },
  );

  app.get(
    "/api/arena/battles/:id",
    (c) => {
      const battle = battleOf(param(c, "id"));
      if (!isAdmin(c)) assertOwner(battle, clientIdentity(c));
      return c.json(view(battle));
    },
  );

  // The sessions list: the caller's battles (an admin's: all), anonymous until voted or revealed.
  app.get(
    "/api/arena/battles",
    (c) => {
      const limit = integerQuery(c.req.query("limit"), "limit", { min: 1, max: 500, fallback: 100 });
      const offset = integerQuery(c.req.query("offset"), "offset", { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
      const list: BattleSummaryList = { object: "list", data: store.listBattles(isAdmin(c) ? null : clientIdentity(c), limit, offset).map(publicBattleSummary) };
      return c.json(list);
    },
  );

  // Deleting a voted battle takes its vote off the leaderboard too: the user's data stays theirs.
  app.delete(
    "/api/arena/battles/:id",
    (c) => {
      const battle = battleOf(param(c, "id"));
      if (!isAdmin(c)) assertOwner(battle, clientIdentity(c));
      if (isStreaming(battle.id)("a") || isStreaming(battle.id)("b")) throw new BattleStateError("stop the answers that are streaming before deleting the battle");
      store.deleteBattle(battle.id);
      return c.json({ id: battle.id, object: "arena.battle", deleted: true });
    },
  );

  // One battle as a file: what GET shows (names only once they may be seen) and each side's conversation.
  app.get(
    "/api/arena/battles/:id/export",
    (c) => {
      const battle = battleOf(param(c, "id"));
      if (!isAdmin(c)) assertOwner(battle, clientIdentity(c));
      const source = { systemPrompt: battle.settings.systemPrompt ?? null, turns: battle.turns };
      const conversations = { a: conversationOf(source, "a"), b: conversationOf(source, "b") };
      c.header("content-disposition", `attachment; filename="battle-${battle.id}.json"`);
      return c.json({ format: "camelid-arena-battle", version: 1, ...view(battle), conversations });
    },
  );

  app.post(
    "/api/arena/battles/:id/turns",
    async (c) => {
      const battle = battleOf(param(c, "id"));
      assertOwner(battle, clientIdentity(c));
      const body = await readJsonBody(c.req, turnSchema);
      if (streaming.has(`${battle.id}:a`) || streaming.has(`${battle.id}:b`)) throw new BattleStateError("both answers must finish before the next message");
      assertCanAddTurn(battle);
      if (body.images && body.images.length > 0) {
        for (const side of ["a", "b"] as const) {
          // Named by its position only: the battle is still anonymous.
          const message = `model ${side.toUpperCase()} of this battle cannot take images (it lacks the "vision" capability); start a new battle with the images to draw two models that can see`;
          if (!canSee(battle.models[side])) throw new ModelCapabilityError(battle.models[side], "vision", message);
        }
      }
      store.addTurn(battle.id, body.message, await readImages(body.images));
      return c.json(view(battleOf(battle.id)), 201);
    },
  );

  // One side's answer to the latest turn as SSE: {type:"delta",text} … then {type:"done"} or {type:"error"}.
  app.post(
    arenaAnswerPaths.answer,
    async (c) => {
      const { battle, side, turn } = await sideRequest(c, answerSchema, { emptyAs: {} });
      const lock = `${battle.id}:${side}`;
      assertCanAnswer(battle, turn, side, streaming.has(lock));
      streaming.add(lock);

      let served;
      try {
        const chat = chatRequestFor(battle, side, turn);
        const entry = context.registry.get(chat.model);
        // Chat's own image path: the capability check, the stored images taken by hash, logged by reference.
        const prepared = await prepareChatCall(entry, chat, context.images, "", { storedImages: true });
        served = await context.service.openStream({
          id: arenaRequestId(battle.id, turn, side, store.startAttempt(battle.id, turn, side)),
          endpoint: "chat.completions",
          entry,
          options: prepared.options,
          client: clientIdentity(c),
          owner: c.get("visibility").owner,
          signal: c.req.raw.signal,
          logged: { messages: prepared.loggedMessages, parameters: { ...battle.settings, model: chat.model, arena_battle: battle.id } },
        });
      } catch (error) {
        streaming.delete(lock);
        store.saveAnswer(battle.id, turn, side, { text: "", status: "failed", finishReason: "error" });
        const http = serverHttpError(error);
        if (http.status === 500) context.service.reportInternalError(error, { endpoint: c.req.path, owner: c.get("visibility").owner, client: clientIdentity(c) });
        context.metrics.errors.inc({ status: String(http.status) });
        return c.json(anonymousFailure(http, side), http.status as 400, http.headers);
      }
      const stream = served;
      let answer = "";
      let settled = false;
      // Completion tokens as the model reported them: the length covariate of style-controlled ratings.
      const settle = (status: "done" | "failed", finishReason: string, tokens: number | null = null) => {
        if (settled) return;
        settled = true;
        store.saveAnswer(battle.id, turn, side, { text: answer, status, finishReason, tokens });
        streaming.delete(lock);
      };
      async function* events(): AsyncGenerator<string, void, undefined> {
        try {
          for await (const part of stream.parts) {
            if (part.type === "text-delta") {
              answer += part.delta;
              yield answerEvent({ type: "delta", text: part.delta });
            } else if (part.type === "finish") {
              // Saved before the browser hears "done", so a vote right after it sees a finished answer.
              settle("done", part.finishReason, part.usage.completionTokens);
              yield answerEvent({ type: "done", finish_reason: part.finishReason, completion_tokens: part.usage.completionTokens });
            } else if (part.type === "error") {
              settle("failed", "error");
              yield answerEvent({ type: "error", message: anonymousFailure(toHttpError(part.error), side).error.message });
            }
          }
        } finally {
          // The user pressed stop (the request was cancelled): what arrived is the answer.
          settle("done", "abort");
        }
      }
      return sseResponse(events(), () => {
        const cancelled = stream.cancel();
        settle("done", "abort");
        return cancelled;
      });
    },
  );

  // FastChat's "Regenerate", per side: the side's answer to the latest turn goes back to pending as a
  // new version (the earlier ones are kept); the page then streams it through /answers/:side.
  app.post(
    arenaAnswerPaths.regenerate,
    async (c) => {
      const { battle, side, turn } = await sideRequest(c, answerSchema, { emptyAs: {} });
      assertCanRegenerate(battle, turn, side, streaming.has(`${battle.id}:${side}`));
      store.startRegeneration(battle.id, turn, side);
      return c.json(view(battleOf(battle.id)));
    },
  );

  // Browsing a side's answers: puts another version of its latest answer on screen (the one a vote compares).
  app.post(
    "/api/arena/battles/:id/answers/:side/select",
    async (c) => {
      const { battle, side, body, turn } = await sideRequest(c, selectSchema);
      const shown = assertCanRegenerate(battle, turn, side, streaming.has(`${battle.id}:${side}`));
      if (!store.selectVersion(battle.id, turn, side, body.version)) {
        throw new ResourceNotFoundError("answer version", `answer ${side.toUpperCase()} of turn ${turn} has no version ${body.version} (it has ${shown.answers[side].versionCount})`);
      }
      return c.json(view(battleOf(battle.id)));
    },
  );

  // Peeking at the names is allowed, but it disqualifies the battle from voting, for good.
  app.post(
    "/api/arena/battles/:id/reveal",
    (c) => {
      const battle = battleOf(param(c, "id"));
      assertOwner(battle, clientIdentity(c));
      if (!battle.vote) store.markRevealedBeforeVote(battle.id);
      return c.json(view(battleOf(battle.id)));
    },
  );

  app.post(
    "/api/arena/battles/:id/vote",
    async (c) => {
      const battle = battleOf(param(c, "id"));
      const client = clientIdentity(c);
      const body = await readJsonBody(c.req, voteSchema);
      const streamingSides = (["a", "b"] as const).filter((side) => streaming.has(`${battle.id}:${side}`)).length;
      assertCanVote(battle, client, store.votesToday(client), votesPerDay, streamingSides);
      store.recordVote(battle.id, client, voteChoices[body.winner]);
      const voted: VoteResponse = { ...view(battleOf(battle.id)), votes_left_today: Math.max(0, votesPerDay - store.votesToday(client)) };
      return c.json(voted);
    },
  );

  // ?category=<name>|all, ?style_control=1, ?bootstrap=<rounds>: see arena-leaderboard.ts.
  const leaderboardQuery = (c: Context<ServerEnv>) => parseLeaderboardQuery((name) => c.req.query(name), options.bootstrapRounds ?? 200);
  app.get(
    "/api/arena/leaderboard",
    (c) => c.json(leaderboardResponse(toRatingBattles(store.votedBattles()), leaderboardQuery(c))),
  );
  app.get(
    "/api/arena/leaderboard/charts/:file",
    (c) => {
      const file = param(c, "file");
      const name = file.endsWith(".svg") ? file.slice(0, -4) : file;
      const svg = leaderboardChart(toRatingBattles(store.votedBattles()), leaderboardQuery(c), name);
      if (svg === undefined) throw new ResourceNotFoundError("chart", `no chart "${file}" (charts: rating-intervals.svg, elo-bootstrap-intervals.svg, win-fraction-heatmap.svg, battle-count-heatmap.svg; none before the first vote)`);
      return c.body(svg, 200, { "content-type": "image/svg+xml; charset=utf-8" });
    },
  );

  app.get("/api/arena/export/battles.json", (c) => {
    c.header("content-disposition", 'attachment; filename="arena-battles.json"');
    return c.json(toBattleRows(exportable(c)));
  });
  app.get("/api/arena/export/preferences.jsonl", (c) => {
    const lines = toPreferencePairs(exportable(c)).map((pair) => JSON.stringify(pair));
    return c.body(lines.map((line) => `${line}\n`).join(""), 200, {
      "content-type": "application/x-ndjson; charset=utf-8",
      "content-disposition": 'attachment; filename="arena-preferences.jsonl"',
    });
  });
}
