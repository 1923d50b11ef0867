import { z } from "zod";
import type { Conversation, DatasetFormat, PreferencePair, Turn } from "./records.js";

/** Row schemas of each format, validated at the edge (one bad row → one reported problem). */
const alpacaRow = z.object({
  instruction: z.string(),
  input: z.string().optional().default(""),
  output: z.string(),
  system: z.string().optional(),
  /** LLaMA-Factory's multi-turn extension: earlier [user, assistant] pairs. */
  history: z.array(z.tuple([z.string(), z.string()])).optional(),
}).loose();

const shareGptMessage = z.object({ from: z.string(), value: z.string() }).loose();
const shareGptRow = z.object({
  id: z.union([z.string(), z.number()]).optional(),
  conversations: z.array(shareGptMessage),
  system: z.string().optional(),
}).loose();

const openAiRow = z.object({
  messages: z.array(z.object({ role: z.string(), content: z.string().nullable() }).loose()),
}).loose();

const dollyRow = z.object({
  instruction: z.string(),
  context: z.string().optional().default(""),
  response: z.string(),
  category: z.string().optional(),
}).loose();

const dpoShareGptRow = z.object({
  conversations: z.array(shareGptMessage).min(1),
  chosen: shareGptMessage,
  rejected: shareGptMessage,
  system: z.string().optional(),
}).loose();
const dpoFlatRow = z.object({ prompt: z.string(), chosen: z.string(), rejected: z.string(), system: z.string().optional() }).loose();

const shareGptRoles: Record<string, Turn["role"] | "system"> = { human: "user", user: "user", gpt: "assistant", assistant: "assistant", chatgpt: "assistant", bing: "assistant", bard: "assistant", system: "system" };

export class RowFormatError extends Error {}

function issue(error: z.ZodError): string {
  const first = error.issues[0];
  return `${first.path.join(".") || "row"}: ${first.message}`;
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RowFormatError(issue(parsed.error));
  return parsed.data;
}

/** ShareGPT messages → turns; unknown roles are errors (cleaning decides what to do with odd orders). */
function shareGptTurns(messages: { from: string; value: string }[]): { system?: string; turns: Turn[] } {
  let system: string | undefined;
  const turns: Turn[] = [];
  messages.forEach((message, index) => {
    const role = shareGptRoles[message.from.toLowerCase()];
    if (!role) throw new RowFormatError(`conversations.${index}.from: unknown role "${message.from}"`);
    if (role === "system") system = message.value;
    else turns.push({ role, content: message.value });
  });
  return { system, turns };
}

const withoutKeys = (row: Record<string, unknown>, keys: string[]) => {
  const extra = Object.fromEntries(Object.entries(row).filter(([key]) => !keys.includes(key)));
  return Object.keys(extra).length ? extra : undefined;
};

export function decodeConversation(format: Exclude<DatasetFormat, "dpo">, value: unknown): Conversation {
  switch (format) {
    case "alpaca": {
      const row = parseWith(alpacaRow, value);
      const turns: Turn[] = (row.history ?? []).flatMap(([user, assistant]) => [{ role: "user" as const, content: user }, { role: "assistant" as const, content: assistant }]);
      turns.push({ role: "user", content: row.input ? `${row.instruction}\n\n${row.input}` : row.instruction }, { role: "assistant", content: row.output });
      return { system: row.system, turns, extra: withoutKeys(row, ["instruction", "input", "output", "system", "history"]) };
    }
    case "sharegpt": {
      const row = parseWith(shareGptRow, value);
      const { system, turns } = shareGptTurns(row.conversations);
      return { id: row.id === undefined ? undefined : String(row.id), system: row.system ?? system, turns, extra: withoutKeys(row, ["id", "conversations", "system"]) };
    }
    case "openai": {
      const row = parseWith(openAiRow, value);
      let system: string | undefined;
      const turns: Turn[] = [];
      row.messages.forEach((message, index) => {
        if (message.role === "system") system = message.content ?? "";
        else if (message.role === "user" || message.role === "assistant") turns.push({ role: message.role, content: message.content ?? "" });
        else throw new RowFormatError(`messages.${index}.role: unsupported role "${message.role}"`);
      });
      return { system, turns, extra: withoutKeys(row, ["messages"]) };
    }
    case "dolly": {
      const row = parseWith(dollyRow, value);
      return {
        turns: [{ role: "user", content: row.context ? `${row.instruction}\n\n${row.context}` : row.instruction }, { role: "assistant", content: row.response }],
        extra: withoutKeys(row, ["instruction", "context", "response"]),
      };
    }
  }
}

export function decodePreference(value: unknown): PreferencePair {
  if (value && typeof value === "object" && "prompt" in value) {
    const row = parseWith(dpoFlatRow, value);
    return { system: row.system, turns: [{ role: "user", content: row.prompt }], chosen: row.chosen, rejected: row.rejected };
  }
  const row = parseWith(dpoShareGptRow, value);
  const { system, turns } = shareGptTurns(row.conversations);
  return { system: row.system ?? system, turns, chosen: row.chosen.value, rejected: row.rejected.value };
}

/** Alpaca can hold only conversations ending in an assistant turn; earlier pairs go to `history`. */
export function encodeConversation(format: Exclude<DatasetFormat, "dpo">, record: Conversation): Record<string, unknown> {
  const extra = record.extra ?? {};
  switch (format) {
    case "alpaca":
    case "dolly": {
      const turns = record.turns;
      if (turns.length < 2 || turns.length % 2 !== 0 || turns.at(-1)!.role !== "assistant") {
        throw new RowFormatError(`${format} needs user/assistant pairs ending with the assistant (this conversation has ${turns.length} turns)`);
      }
      const last = turns.slice(-2);
      if (format === "dolly") {
        if (turns.length > 2) throw new RowFormatError("dolly holds one instruction and one response; this conversation has several turns");
        return { instruction: last[0].content, context: "", response: last[1].content, ...extra };
      }
      const history = [];
      for (let i = 0; i + 1 < turns.length - 2; i += 2) history.push([turns[i].content, turns[i + 1].content]);
      return { instruction: last[0].content, input: "", output: last[1].content, ...(record.system ? { system: record.system } : {}), ...(history.length ? { history } : {}), ...extra };
    }
    case "sharegpt":
      return {
        ...(record.id !== undefined ? { id: record.id } : {}),
        conversations: [...(record.system ? [{ from: "system", value: record.system }] : []), ...record.turns.map((t) => ({ from: t.role === "user" ? "human" : "gpt", value: t.content }))],
        ...extra,
      };
    case "openai":
      return { messages: [...(record.system ? [{ role: "system", content: record.system }] : []), ...record.turns.map((t) => ({ role: t.role, content: t.content }))], ...extra };
  }
}

/** LLaMA-Factory's ShareGPT-style preference rows (the dpo_en_demo.json shape). */
export function encodePreference(pair: PreferencePair): Record<string, unknown> {
  return {
    conversations: [...(pair.system ? [{ from: "system", value: pair.system }] : []), ...pair.turns.map((t) => ({ from: t.role === "user" ? "human" : "gpt", value: t.content }))],
    chosen: { from: "gpt", value: pair.chosen },
    rejected: { from: "gpt", value: pair.rejected },
  };
}
