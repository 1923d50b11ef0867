import { z } from "zod";
import type { Conversation, DatasetFormat, PreferencePair, ToolKind, Turn, TurnRole } from "./records.js";

/** Row schemas of each format, validated at the edge (one bad row → one reported problem). */
const rowId = z.union([z.string(), z.number()]).optional();

const alpacaRow = z.object({
  id: rowId,
  instruction: z.string(),
  input: z.string().optional().default(""),
  output: z.string(),
  system: z.string().optional(),
  /** LLaMA-Factory's multi-turn extension: earlier [user, assistant] pairs. */
  history: z.array(z.tuple([z.string(), z.string()])).optional(),
}).loose();

const shareGptMessage = z.object({ from: z.string(), value: z.string() }).loose();
const shareGptRow = z.object({ id: rowId, conversations: z.array(shareGptMessage), system: z.string().optional() }).loose();

/** A message's content: text, null (an assistant message that only calls tools) or content parts. */
const openAiContent = z.union([z.string(), z.null(), z.array(z.object({ type: z.string() }).loose())]);
const openAiRow = z.object({ id: rowId, messages: z.array(z.object({ role: z.string(), content: openAiContent.optional() }).loose()) }).loose();

const dollyRow = z.object({ id: rowId, instruction: z.string(), context: z.string().optional().default(""), response: z.string(), category: z.string().optional() }).loose();

const dpoShareGptRow = z.object({ id: rowId, conversations: z.array(shareGptMessage).min(1), chosen: shareGptMessage, rejected: shareGptMessage, system: z.string().optional() }).loose();
const dpoFlatRow = z.object({ id: rowId, prompt: z.string(), chosen: z.string(), rejected: z.string(), system: z.string().optional() }).loose();

/** ShareGPT's "from" names, LLaMA-Factory's tool turns (function_call, observation) included. */
const shareGptRoles: Record<string, { role: TurnRole; kind?: ToolKind }> = {
  human: { role: "user" },
  user: { role: "user" },
  gpt: { role: "assistant" },
  assistant: { role: "assistant" },
  chatgpt: { role: "assistant" },
  bing: { role: "assistant" },
  bard: { role: "assistant" },
  system: { role: "system" },
  function_call: { role: "assistant", kind: "function_call" },
  observation: { role: "user", kind: "observation" },
  tool: { role: "user", kind: "observation" },
  function: { role: "user", kind: "observation" },
};

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

const withoutKeys = (row: Record<string, unknown>, keys: string[]) => {
  const extra = Object.fromEntries(Object.entries(row).filter(([key]) => !keys.includes(key)));
  return Object.keys(extra).length ? extra : undefined;
};
const idOf = (id: string | number | undefined) => (id === undefined ? undefined : String(id));
const withId = (id: string | undefined) => (id !== undefined ? { id } : {});

/** How Alpaca (and Dolly) put an instruction and its input into one user message. */
const joinInstruction = (instruction: string, input: string) => (input ? `${instruction}\n\n${input}` : instruction);

function instructionTurn(instruction: string, input: string): Turn {
  return { role: "user", content: joinInstruction(instruction, input), ...(input ? { alpaca: { instruction, input } } : {}) };
}

/** The instruction and input back, as long as the message is still their join (cleaning may have changed it). */
function splitInstruction(turn: Turn): { instruction: string; input: string } {
  if (turn.alpaca && joinInstruction(turn.alpaca.instruction, turn.alpaca.input) === turn.content) return turn.alpaca;
  return { instruction: turn.content, input: "" };
}

/** ShareGPT messages → the leading system prompt and the turns; later system messages stay where they are. */
function shareGptTurns(messages: { from: string; value: string }[], rowSystem: string | undefined): { system?: string; turns: Turn[] } {
  let system = rowSystem;
  const turns: Turn[] = [];
  messages.forEach((message, index) => {
    const mapped = shareGptRoles[message.from.toLowerCase()];
    if (!mapped) throw new RowFormatError(`conversations.${index}.from: unknown role "${message.from}"`);
    const extra = withoutKeys(message, ["from", "value"]);
    if (mapped.role === "system" && index === 0 && system === undefined && !extra) system = message.value;
    else turns.push({ role: mapped.role, content: message.value, ...(mapped.kind ? { kind: mapped.kind } : {}), ...(extra ? { extra } : {}) });
  });
  return { system, turns };
}

export function shareGptFrom(turn: Turn): string {
  return turn.kind ?? (turn.role === "user" ? "human" : turn.role === "assistant" ? "gpt" : "system");
}

/** OpenAI's structural fields are ShareGPT's `value`; everything else of a message travels along. */
const openAiOnly = ["content", "tool_calls"];

function shareGptMessages(system: string | undefined, turns: Turn[]): Record<string, unknown>[] {
  return [
    ...(system ? [{ from: "system", value: system }] : []),
    ...turns.map((turn) => ({ from: shareGptFrom(turn), value: turn.content, ...withoutKeys(turn.extra ?? {}, openAiOnly) })),
  ];
}

/**
 * Text of a message's content; text parts ({type: "text", text}, or LLaMA-Factory v1's {type: "text",
 * value}) are joined as chat templates render them, one after another.
 */
function openAiText(content: unknown, where: string): { text: string; parts?: unknown[] } {
  if (typeof content === "string") return { text: content };
  if (!Array.isArray(content)) return { text: "" };
  const texts = content.map((part, index) => {
    const { type, text, value } = part as { type: string; text?: unknown; value?: unknown };
    const partText = text ?? value;
    if (type !== "text" || typeof partText !== "string") throw new RowFormatError(`${where}.${index}: a "${type}" content part has no text form (only text parts can be converted)`);
    return partText;
  });
  return { text: texts.join(""), parts: content };
}

interface ToolCall {
  name: string;
  arguments: unknown;
}

/** OpenAI tool_calls → LLaMA-Factory's function_call text: {"name", "arguments"} (a list for several calls). */
function toolCallsText(calls: unknown[]): string {
  const plain = calls.map((call): ToolCall => {
    const fn = (call as { function?: { name?: string; arguments?: unknown } }).function ?? {};
    let args = fn.arguments;
    if (typeof args === "string") {
      try {
        args = JSON.parse(args);
      } catch {
        // arguments that are not JSON stay the string they are
      }
    }
    return { name: fn.name ?? "", arguments: args };
  });
  return pythonJsonDumps(plain.length === 1 ? plain[0] : plain);
}

/**
 * Python's json.dumps(…, ensure_ascii=False) (", " and ": " separators), the way LLaMA-Factory's
 * tool-call data (glaive_toolcall) is written, so that a call converted to OpenAI and back is unchanged.
 */
export function pythonJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  if (value && typeof value === "object") return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${pythonJsonDumps(item)}`).join(", ")}}`;
  return JSON.stringify(value) ?? "null";
}

function toolCallsOf(text: string): unknown[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const calls = (Array.isArray(parsed) ? parsed : [parsed]) as Partial<ToolCall>[];
  if (calls.length === 0 || !calls.every((call) => call && typeof call === "object" && typeof call.name === "string")) return undefined;
  return calls.map((call, index) => ({ id: `call_${index}`, type: "function", function: { name: call.name, arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {}) } }));
}

function openAiTurns(messages: { role: string; content?: unknown }[]): { system?: string; turns: Turn[] } {
  let system: string | undefined;
  const turns: Turn[] = [];
  messages.forEach((message, index) => {
    const where = `messages.${index}.content`;
    const { text, parts } = openAiText(message.content, where);
    const extra = withoutKeys(message, ["role", "content"]);
    const common = { ...(parts ? { parts } : {}) };
    const calls = (message as { tool_calls?: unknown }).tool_calls;
    switch (message.role) {
      case "system":
        if (index === 0 && !extra && !parts) system = text;
        else turns.push({ role: "system", content: text, ...common, ...(extra ? { extra } : {}) });
        break;
      case "user":
        turns.push({ role: "user", content: text, ...common, ...(extra ? { extra } : {}) });
        break;
      case "assistant":
        if (Array.isArray(calls) && calls.length > 0) {
          // The call is the turn's text (as ShareGPT writes it); the message itself is kept for OpenAI output.
          turns.push({ role: "assistant", kind: "function_call", content: toolCallsText(calls), extra: { ...extra, content: message.content ?? null } });
        } else turns.push({ role: "assistant", content: text, ...common, ...(extra ? { extra } : {}) });
        break;
      case "tool":
      case "function":
        turns.push({ role: "user", kind: "observation", content: text, ...common, ...(extra ? { extra } : {}) });
        break;
      default:
        throw new RowFormatError(`messages.${index}.role: unsupported role "${message.role}"`);
    }
  });
  return { system, turns };
}

function openAiMessage(turn: Turn): Record<string, unknown> {
  const content = turn.parts && openAiText(turn.parts, "").text === turn.content ? turn.parts : turn.content;
  if (turn.kind === "function_call") {
    if (turn.extra && "tool_calls" in turn.extra) return { role: "assistant", content, ...turn.extra };
    const calls = toolCallsOf(turn.content);
    return calls ? { role: "assistant", content: null, tool_calls: calls, ...turn.extra } : { role: "assistant", content, ...turn.extra };
  }
  return { role: turn.kind === "observation" ? "tool" : turn.role, content, ...turn.extra };
}

export function decodeConversation(format: Exclude<DatasetFormat, "dpo">, value: unknown): Conversation {
  switch (format) {
    case "alpaca": {
      const row = parseWith(alpacaRow, value);
      const turns: Turn[] = (row.history ?? []).flatMap(([user, assistant]) => [{ role: "user" as const, content: user }, { role: "assistant" as const, content: assistant }]);
      turns.push(instructionTurn(row.instruction, row.input), { role: "assistant", content: row.output });
      return { id: idOf(row.id), system: row.system, turns, extra: withoutKeys(row, ["id", "instruction", "input", "output", "system", "history"]) };
    }
    case "sharegpt": {
      const row = parseWith(shareGptRow, value);
      const { system, turns } = shareGptTurns(row.conversations, row.system);
      return { id: idOf(row.id), system, turns, extra: withoutKeys(row, ["id", "conversations", "system"]) };
    }
    case "openai": {
      const row = parseWith(openAiRow, value);
      const { system, turns } = openAiTurns(row.messages);
      return { id: idOf(row.id), system, turns, extra: withoutKeys(row, ["id", "messages"]) };
    }
    case "dolly": {
      const row = parseWith(dollyRow, value);
      return { id: idOf(row.id), turns: [instructionTurn(row.instruction, row.context), { role: "assistant", content: row.response }], extra: withoutKeys(row, ["id", "instruction", "context", "response"]) };
    }
  }
}

export function decodePreference(value: unknown): PreferencePair {
  if (value && typeof value === "object" && "prompt" in value) {
    const row = parseWith(dpoFlatRow, value);
    return { id: idOf(row.id), system: row.system, turns: [{ role: "user", content: row.prompt }], chosen: row.chosen, rejected: row.rejected, extra: withoutKeys(row, ["id", "prompt", "chosen", "rejected", "system"]) };
  }
  const row = parseWith(dpoShareGptRow, value);
  const { system, turns } = shareGptTurns(row.conversations, row.system);
  return { id: idOf(row.id), system, turns, chosen: row.chosen.value, rejected: row.rejected.value, extra: withoutKeys(row, ["id", "conversations", "chosen", "rejected", "system"]) };
}

/** Alpaca and Dolly hold user/assistant pairs ending with the assistant: no system or tool turns between. */
function instructionPairs(format: string, turns: Turn[]): void {
  const odd = turns.findIndex((turn) => turn.kind !== undefined || turn.role === "system");
  if (odd >= 0) throw new RowFormatError(`${format} holds plain user/assistant pairs; turn ${odd} is a ${turns[odd].kind ?? turns[odd].role} message`);
  if (turns.length < 2 || turns.length % 2 !== 0 || turns.some((turn, i) => turn.role !== (i % 2 === 0 ? "user" : "assistant"))) {
    throw new RowFormatError(`${format} needs user/assistant pairs ending with the assistant (this conversation has ${turns.length} turns)`);
  }
}

/** Alpaca can hold only conversations ending in an assistant turn; earlier pairs go to `history`. */
export function encodeConversation(format: Exclude<DatasetFormat, "dpo">, record: Conversation): Record<string, unknown> {
  const extra = record.extra ?? {};
  switch (format) {
    case "alpaca":
    case "dolly": {
      const turns = record.turns;
      instructionPairs(format, turns);
      const [user, assistant] = turns.slice(-2);
      const { instruction, input } = splitInstruction(user);
      if (format === "dolly") {
        if (turns.length > 2) throw new RowFormatError("dolly holds one instruction and one response; this conversation has several turns");
        if (record.system) throw new RowFormatError("dolly has no system prompt; this conversation has one");
        return { ...withId(record.id), instruction, context: input, response: assistant.content, ...extra };
      }
      const history = [];
      for (let i = 0; i + 1 < turns.length - 2; i += 2) history.push([turns[i].content, turns[i + 1].content]);
      return { ...withId(record.id), instruction, input, output: assistant.content, ...(record.system ? { system: record.system } : {}), ...(history.length ? { history } : {}), ...extra };
    }
    case "sharegpt":
      return { ...withId(record.id), conversations: shareGptMessages(record.system, record.turns), ...extra };
    case "openai":
      return { ...withId(record.id), messages: [...(record.system ? [{ role: "system", content: record.system }] : []), ...record.turns.map(openAiMessage)], ...extra };
  }
}

/** LLaMA-Factory's ShareGPT-style preference rows (the dpo_en_demo.json shape). */
export function encodePreference(pair: PreferencePair): Record<string, unknown> {
  return {
    ...withId(pair.id),
    conversations: shareGptMessages(pair.system, pair.turns),
    chosen: { from: "gpt", value: pair.chosen },
    rejected: { from: "gpt", value: pair.rejected },
    ...pair.extra,
  };
}
