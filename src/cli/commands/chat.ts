import { createInterface } from "node:readline";
import { InvalidArgumentError } from "../../errors/index.js";
import type { CallOptions, ChatMessage, LanguageModel, RenderedPrompt, StreamPart } from "../../spec/index.js";
import { parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";
import { generationFlagOptions, generationOptions, modelFlagOptions, selectModel } from "../model-flags.js";
import { formatRenderedPrompt } from "../prompt-display.js";

const help = `usage: camelid chat --model <file.gguf> [options]

Interactive chat with streaming replies. The prompt format in use is printed when the chat starts.
Commands inside the chat:
  /system <text>   set the system prompt (and start over)     /reset          forget the conversation
  /prompt          show the exact prompt and token ids of the last turn
  /format [name]   show the prompt format, or switch to another registry format
  /help            this list                                   /exit           leave (also Ctrl-D)
Ctrl-C stops a reply that is being generated; at the prompt it leaves.

options: the model and sampling flags of "camelid generate" (--model, --base-url, --format, --ctx-size,
--threads, --max-tokens, --temperature, --seed, --stop, ...), plus --system <text>, --show-prompt (print the
exact prompt before every reply) and --window keep-all|last:N|budget[:TOKENS] for long conversations.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...modelFlagOptions,
    ...generationFlagOptions,
    system: { type: "string" },
    "show-prompt": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  if (positionals.length) throw new InvalidArgumentError("arguments", `unexpected argument "${positionals[0]}"`);
  const baseOptions = generationOptions(values);
  const model = await selectModel(values, io).create();
  try {
    return await chatWithModel(model, io, {
      options: baseOptions,
      system: values.system as string | undefined,
      showPrompt: Boolean(values["show-prompt"]),
    });
  } finally {
    await model.dispose?.();
  }
}

/** The interactive loop on any LanguageModel (tests drive it with a scripted model and piped input). */
export async function chatWithModel(
  model: LanguageModel,
  io: CliIo,
  settings: { options?: Omit<CallOptions, "messages" | "prompt">; system?: string; showPrompt?: boolean } = {},
): Promise<number> {
  const session = new ChatSession(model, settings.options ?? {}, settings.system);
  const intro = await model.renderPrompt(session.callOptions([{ role: "user", content: "" }]));
  io.stdout(`camelid chat · ${model.modelId} · prompt format: ${intro.format.name} (${intro.format.source}: ${intro.format.reason})\n`);
  io.stdout(`type /help for commands, /exit to leave\n`);
  return await repl(session, io, Boolean(settings.showPrompt));
}

/** The conversation state; separate from the terminal so the logic stays testable. */
export class ChatSession {
  history: ChatMessage[] = [];
  lastPrompt?: RenderedPrompt;

  constructor(
    readonly model: LanguageModel,
    private options: Omit<CallOptions, "messages" | "prompt">,
    public systemPrompt?: string,
  ) {}

  get promptFormat(): string | undefined {
    return this.options.promptFormat;
  }

  setPromptFormat(name: string | undefined): void {
    const { promptFormat: _previous, ...rest } = this.options;
    this.options = name ? { ...rest, promptFormat: name } : rest;
  }

  callOptions(history: ChatMessage[]): CallOptions {
    const messages: ChatMessage[] = this.systemPrompt ? [{ role: "system", content: this.systemPrompt }, ...history] : [...history];
    return { ...this.options, messages };
  }
}

async function repl(session: ChatSession, io: CliIo, showPrompt: boolean): Promise<number> {
  const rl = createInterface({ input: io.stdin, output: undefined, terminal: false });
  const lines: string[] = [];
  let waiting: ((line: string | undefined) => void) | undefined;
  let closed = false;
  let generation: AbortController | undefined;
  rl.on("line", (line) => {
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve(line);
    } else lines.push(line);
  });
  rl.on("close", () => {
    closed = true;
    waiting?.(undefined);
  });
  const onInterrupt = () => {
    if (generation) generation.abort();
    else {
      closed = true;
      rl.close();
    }
  };
  process.on("SIGINT", onInterrupt);
  const nextLine = () =>
    new Promise<string | undefined>((resolve) => {
      if (lines.length) resolve(lines.shift());
      else if (closed) resolve(undefined);
      else waiting = resolve;
    });

  try {
    for (;;) {
      io.stdout("> ");
      const line = await nextLine();
      if (line === undefined) {
        io.stdout("\n");
        return 0;
      }
      const input = line.trim();
      if (!input) continue;
      if (input.startsWith("/")) {
        if (await runSlashCommand(input, session, io)) return 0;
        continue;
      }
      const turn: ChatMessage[] = [...session.history, { role: "user", content: input }];
      generation = new AbortController();
      const reply = await streamReply(session, turn, io, generation.signal, showPrompt);
      generation = undefined;
      if (reply !== undefined) session.history = [...turn, { role: "assistant", content: reply }];
    }
  } finally {
    process.off("SIGINT", onInterrupt);
    rl.close();
  }
}

/** Returns true when the user asked to leave. */
async function runSlashCommand(input: string, session: ChatSession, io: CliIo): Promise<boolean> {
  const [command, ...rest] = input.split(/\s+/);
  const argument = input.slice(command.length).trim();
  switch (command) {
    case "/exit":
    case "/quit":
      return true;
    case "/help":
      io.stdout(help.split("Commands inside the chat:\n")[1].split("\noptions:")[0] + "\n");
      return false;
    case "/reset":
      session.history = [];
      io.stdout("(conversation cleared)\n");
      return false;
    case "/system":
      session.systemPrompt = argument || undefined;
      session.history = [];
      io.stdout(argument ? `(system prompt set; conversation cleared)\n` : `(system prompt removed; conversation cleared)\n`);
      return false;
    case "/prompt":
      io.stdout(session.lastPrompt ? formatRenderedPrompt(session.lastPrompt) : "(no prompt sent yet)\n");
      return false;
    case "/format": {
      if (rest.length) {
        const previous = session.promptFormat;
        session.setPromptFormat(argument);
        try {
          const rendered = await session.model.renderPrompt(session.callOptions([...session.history, { role: "user", content: "" }]));
          io.stdout(`(prompt format: ${rendered.format.name})\n`);
        } catch (error) {
          session.setPromptFormat(previous);
          io.stdout(`error: ${(error as Error).message}\n`);
        }
      } else {
        const rendered = await session.model.renderPrompt(session.callOptions([...session.history, { role: "user", content: "" }]));
        io.stdout(`prompt format: ${rendered.format.name} (${rendered.format.source}: ${rendered.format.reason})\n`);
      }
      return false;
    }
    default:
      io.stdout(`unknown command ${command}; /help lists them\n`);
      return false;
  }
}

/** Stream one assistant reply; undefined when it failed (the turn is then not added to the history). */
async function streamReply(
  session: ChatSession,
  turn: ChatMessage[],
  io: CliIo,
  abortSignal: AbortSignal,
  showPrompt: boolean,
): Promise<string | undefined> {
  let text = "";
  try {
    const { stream } = await session.model.doStream({ ...session.callOptions(turn), abortSignal });
    for await (const part of stream as unknown as AsyncIterable<StreamPart>) {
      if (part.type === "stream-start") {
        if (part.prompt) session.lastPrompt = part.prompt;
        if (showPrompt && part.prompt) io.stdout(formatRenderedPrompt(part.prompt));
        if (part.prompt?.window && part.prompt.window.droppedMessages > 0) {
          io.stdout(`(window: ${part.prompt.window.droppedMessages} earlier message(s) left out to fit the context)\n`);
        }
        for (const warning of part.warnings) io.stdout(`(warning: ${warning.message})\n`);
      } else if (part.type === "text-delta") {
        text += part.delta;
        io.stdout(part.delta);
      } else if (part.type === "choice-finish" && part.finishReason === "abort") {
        io.stdout(" [stopped]");
      } else if (part.type === "choice-finish" && part.finishReason === "length") {
        io.stdout(" [max tokens]");
      } else if (part.type === "error") {
        io.stdout(`\nerror: ${part.error.message}\n`);
        return undefined;
      }
    }
    io.stdout("\n");
    return text;
  } catch (error) {
    io.stdout(`error: ${(error as Error).message}\n`);
    return undefined;
  }
}
