// What an Arena (side by side) or Collaborate session document holds, as the playground saves it.
// Answers carry their state, so an answer cut short by a reload is shown as such when reopened.
import { z } from "zod";
import type { SessionKind } from "../store/playground-sessions.js";
import { conversationSettingsSchema } from "./conversations.js";
import { supportedImageTypes } from "../images/image-bytes.js";
import type { ImageMimeType } from "../../spec/messages.js";

const text = z.string().max(1_000_000);
const modelName = z.string().min(1).max(500);

/** One model's answer: "pending" while it streams (a reload leaves it so), its numbers when it ended. */
const answerSchema = z
  .object({
    model: modelName,
    text,
    status: z.enum(["pending", "done", "failed", "interrupted"]),
    finish_reason: z.string().max(100).nullable().optional(),
    error: z.string().max(10_000).nullable().optional(),
    /** The stream's usage and llama-server timings, for the reply's numbers. */
    usage: z.record(z.string(), z.number().nullable()).nullable().optional(),
    timings: z.record(z.string(), z.number().nullable()).nullable().optional(),
  })
  .strict();

/**
 * An Arena answer: the version on screen, with every answer that finished for the turn when it was
 * regenerated (`versions`, the first one first) and which of them it is (`version`).
 */
const arenaAnswerSchema = answerSchema
  .extend({
    versions: z.array(answerSchema).min(1).max(100).optional(),
    version: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((answer) => answer.version === undefined || (answer.versions !== undefined && answer.version < answer.versions.length), {
    message: "version must name one of the answer's versions",
    path: ["version"],
  });

/** An image a turn carried, by reference (the bytes are stored once by hash; GET /api/images/<sha256> serves them). */
const imageReferenceSchema = z
  .object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex SHA-256"),
    mime_type: z.enum(supportedImageTypes as [ImageMimeType, ...ImageMimeType[]]),
    size: z.number().int().min(0),
  })
  .strict();

export const arenaStateSchema = z
  .object({
    /** The columns: one conversation per model, all fed the same user turns. */
    models: z.array(modelName).min(1).max(16),
    settings: conversationSettingsSchema,
    turns: z.array(z.object({ user_message: text, images: z.array(imageReferenceSchema).max(256).optional(), answers: z.array(arenaAnswerSchema).max(16) }).strict()).max(1000),
  })
  .strict();

const collaborateRunSchema = z
  .object({
    question: text,
    models: z.array(modelName).min(1).max(16),
    aggregator: modelName,
    merge_prompt: text,
    answers: z.array(answerSchema).max(16),
    /** The merge prompt as filled in and sent to the aggregator (null until every answer ended). */
    filled_prompt: text.nullable(),
    merged: answerSchema.nullable(),
  })
  .strict();

export const collaborateStateSchema = z
  .object({
    /** The form as it was last used: picks, aggregator, merge prompt, sampling settings. */
    models: z.array(modelName).max(16),
    aggregator: modelName.nullable(),
    merge_prompt: text,
    settings: conversationSettingsSchema,
    runs: z.array(collaborateRunSchema).max(1000),
  })
  .strict();

export type ArenaState = z.infer<typeof arenaStateSchema>;
export type ArenaAnswer = z.infer<typeof arenaAnswerSchema>;
export type ArenaAnswerVersion = z.infer<typeof answerSchema>;
export type CollaborateState = z.infer<typeof collaborateStateSchema>;

export const stateSchemas = { arena: arenaStateSchema, collaborate: collaborateStateSchema } as const satisfies Record<SessionKind, z.ZodType>;

export const createSessionSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("arena"), state: arenaStateSchema }).strict(),
  z.object({ kind: z.literal("collaborate"), state: collaborateStateSchema }).strict(),
]);

/** The list shows a title and the models; both follow from the document, so the browser never sends them apart. */
export function sessionListFields(kind: SessionKind, state: ArenaState | CollaborateState): { title: string; models: string[] } {
  const firstLine = (value: string | undefined) => value?.trim().split("\n")[0].slice(0, 80) || undefined;
  if (kind === "arena") {
    const arena = state as ArenaState;
    return { title: firstLine(arena.turns[0]?.user_message) ?? "New arena session", models: arena.models };
  }
  const collaborate = state as CollaborateState;
  const used = collaborate.runs.flatMap((run) => [...run.models, run.aggregator]);
  const models = used.length > 0 ? used : [...collaborate.models, ...(collaborate.aggregator ? [collaborate.aggregator] : [])];
  return { title: firstLine(collaborate.runs[0]?.question) ?? "New collaboration", models: [...new Set(models)] };
}

type Message = { role: "system" | "user" | "assistant"; content: string };

/** Each column's conversation as OpenAI messages (the system prompt, then every turn with this model's answer). */
export function arenaConversations(state: ArenaState): { model: string; messages: Message[] }[] {
  const system = typeof state.settings.system_prompt === "string" && state.settings.system_prompt ? [{ role: "system" as const, content: state.settings.system_prompt }] : [];
  return state.models.map((model) => ({
    model,
    messages: [
      ...system,
      ...state.turns.flatMap((turn): Message[] => {
        const answer = turn.answers.find((candidate) => candidate.model === model);
        return [{ role: "user", content: turn.user_message }, ...(answer ? [{ role: "assistant" as const, content: answer.text }] : [])];
      }),
    ],
  }));
}
