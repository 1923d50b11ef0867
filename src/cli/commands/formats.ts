import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parseArgs } from "node:util";
import { InvalidArgumentError, isCamelidError } from "../../errors/index.js";
import {
  CHAT_TEMPLATE_FORMAT_NAME,
  chatMessagesSchema,
  createChatTemplateFormat,
  getPromptFormat,
  promptFormats,
  rankPromptFormats,
  resolvePromptFormat,
  type PromptFormat,
  type PromptFormatRequest,
  type RenderedFormat,
} from "../../prompts/index.js";
import type { GgufMetadata } from "../../gguf/index.js";
import type { ChatMessage } from "../../spec/messages.js";
import type { PromptFormatChoice } from "../../spec/prompt.js";
import type { CliIo } from "../io.js";

const help = `usage: camelid formats list [--json]
       camelid formats render (--format <name> | --template <file.jinja> | --model <file.gguf>) [messages] [options]
       camelid formats detect --model <file.gguf> [--json]

list      the registry's prompt formats: name, system-prompt support, stop strings, description
render    print the exact prompt a format builds for a conversation
detect    rank the registry's formats by how likely the model finds a short canonical exchange
          in each ("ping/pong" template detection, for models without a chat template)

messages (in the order given; --messages first, then the flags):
  --messages <file.json>   a JSON array of {role, content} (or {"messages": [...]})
  --system <text>          the system prompt (placed first)
  --user <text>            a user message (repeatable)
  --assistant <text>       an assistant reply (repeatable)
options:
  --format <name>          a registry format (see "camelid formats list")
  --template <file>        a Jinja chat template (a model's tokenizer.chat_template) instead
  --model <file.gguf>      choose as camelid does for this model (its chat template, else its name),
                           with its BOS/EOS/control tokens; --format still wins
  --bos <text> --eos <text>  the model's BOS/EOS strings (defaults: the format's own)
  --no-generation-prompt   do not open the assistant's turn at the end
  --raw                    print only the exact prompt text, nothing else
  --json                   print {format, text, segments, stops, startsWithBos} as JSON
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const [subcommand, ...rest] = argv;
  if (subcommand === undefined || subcommand === "--help" || subcommand === "-h" || subcommand === "help") {
    io.stdout(help);
    return subcommand === undefined ? 2 : 0;
  }
  if (subcommand === "list") return listFormats(rest, io);
  if (subcommand === "render") return renderFormat(rest, io);
  if (subcommand === "detect") return detectFormat(rest, io);
  throw new InvalidArgumentError("subcommand", `unknown formats subcommand "${subcommand}" (use list, render or detect)`);
}

function listFormats(argv: string[], io: CliIo): number {
  const { values, tokens } = parse(argv, { json: { type: "boolean" }, help: { type: "boolean", short: "h" } });
  rejectPositionals(tokens);
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  if (values.json) {
    const list = promptFormats.map((format) => ({
      name: format.name,
      description: format.description,
      reference: format.reference,
      supportsSystem: format.supportsSystem,
      stops: format.stops ?? [],
    }));
    io.stdout(JSON.stringify(list, null, 2) + "\n");
    return 0;
  }
  const rows = promptFormats.map((format) => [
    format.name,
    format.supportsSystem ? "yes" : "no",
    (format.stops ?? []).map((stop) => JSON.stringify(stop)).join(" "),
    format.description,
  ]);
  const header = ["NAME", "SYSTEM", "STOPS", "DESCRIPTION"];
  const widths = [0, 1, 2].map((column) => Math.max(header[column].length, ...rows.map((row) => row[column].length)));
  const line = (row: string[]) => row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]) : cell)).join("  ").trimEnd();
  io.stdout([line(header), ...rows.map(line)].join("\n") + "\n");
  io.stdout(`\n${CHAT_TEMPLATE_FORMAT_NAME}: a model's own tokenizer.chat_template (render one with --template <file>)\n`);
  return 0;
}

async function renderFormat(argv: string[], io: CliIo): Promise<number> {
  const { values, tokens } = parse(argv, {
    format: { type: "string" },
    template: { type: "string" },
    model: { type: "string" },
    messages: { type: "string" },
    system: { type: "string" },
    user: { type: "string", multiple: true },
    assistant: { type: "string", multiple: true },
    bos: { type: "string" },
    eos: { type: "string" },
    "no-generation-prompt": { type: "boolean" },
    raw: { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  rejectPositionals(tokens);
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  if (values.template !== undefined && (values.format !== undefined || values.model !== undefined)) {
    throw new InvalidArgumentError("template", "--template cannot be combined with --format or --model");
  }
  const modelRequest = values.model !== undefined ? await promptRequestFromGguf(values.model, io.cwd) : undefined;
  const { format, choice } = chooseFormat(values.format, values.template, modelRequest, io.cwd);
  const messages = collectMessages(tokens, values.messages, io.cwd);
  const bosToken = values.bos ?? modelRequest?.bosToken;
  const eosToken = values.eos ?? modelRequest?.eosToken;
  const rendered = format.render(messages, {
    addGenerationPrompt: !values["no-generation-prompt"],
    ...(bosToken !== undefined ? { bosToken } : {}),
    ...(eosToken !== undefined ? { eosToken } : {}),
    ...(modelRequest?.specialTokens ? { specialTokens: modelRequest.specialTokens } : {}),
  });

  if (values.raw) io.stdout(rendered.text);
  else if (values.json) {
    io.stdout(JSON.stringify({ format: { ...choice, reference: format.reference }, ...rendered }, null, 2) + "\n");
  } else io.stdout(describeRendered(format, choice, rendered, io.isTTY));
  return 0;
}

function chooseFormat(
  name: string | undefined,
  templateFile: string | undefined,
  modelRequest: PromptFormatRequest | undefined,
  cwd: string,
): { format: PromptFormat; choice: PromptFormatChoice } {
  if (templateFile !== undefined) {
    const source = readText(templateFile, cwd, "template");
    return {
      format: createChatTemplateFormat(source, { reference: `chat template file ${templateFile}` }),
      choice: { name: CHAT_TEMPLATE_FORMAT_NAME, source: "explicit", reason: `template file ${templateFile}` },
    };
  }
  if (modelRequest) return resolvePromptFormat({ ...modelRequest, ...(name !== undefined ? { explicit: name } : {}) });
  if (name === undefined) throw new InvalidArgumentError("format", "--format <name>, --template <file> or --model <file.gguf> is required");
  return resolvePromptFormat({ explicit: name });
}

/** What a GGUF header says about prompting: chat template, name, architecture and token strings. */
async function promptRequestFromGguf(file: string, cwd: string): Promise<PromptFormatRequest> {
  // Loaded only here, so "formats list" never reads GGUF code.
  const { readGgufHeader, describeGgufHeader } = await import("../../gguf/index.js");
  const path = resolve(cwd, file);
  const header = await readGgufHeader(path).catch((error: unknown) => {
    // A malformed file keeps its own typed error (it names the byte); an unreadable one is the flag's fault.
    if (isCamelidError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === "string") throw new InvalidArgumentError("model", `cannot read --model file ${file} (${code})`);
    throw error;
  });
  const description = describeGgufHeader(header, path);
  const request: PromptFormatRequest = { modelName: description.name ?? basename(file).replace(/\.gguf$/i, "") };
  if (description.architecture) request.architecture = description.architecture;
  if (description.chatTemplate) request.chatTemplate = description.chatTemplate;
  const bos = description.tokenizer.specialTokens.bos?.text;
  const eos = description.tokenizer.specialTokens.eos?.text;
  if (bos) request.bosToken = bos;
  if (eos) request.eosToken = eos;
  const controlTokens = vocabularyControlTokens(header.metadata);
  if (controlTokens.length) request.specialTokens = controlTokens;
  return request;
}

/** Tokens whose tokenizer.ggml.token_type is CONTROL (3) or USER_DEFINED (4): what llama.cpp parses as special. */
function vocabularyControlTokens(metadata: GgufMetadata): string[] {
  const tokens = metadata.get("tokenizer.ggml.tokens");
  const types = metadata.get("tokenizer.ggml.token_type");
  if (tokens?.type !== "array" || tokens.value.elementType !== "string" || types?.type !== "array") return [];
  if (types.value.elementType === "array" || types.value.elementType === "string" || types.value.elementType === "bool") return [];
  const texts = tokens.value.values;
  const kinds = types.value.values;
  const special: string[] = [];
  for (let index = 0; index < Math.min(texts.length, kinds.length); index++) {
    const kind = Number(kinds[index]);
    if ((kind === 3 || kind === 4) && texts[index] !== "") special.push(texts[index]);
  }
  return special;
}

async function detectFormat(argv: string[], io: CliIo): Promise<number> {
  const { values, tokens } = parse(argv, {
    model: { type: "string", short: "m" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  rejectPositionals(tokens);
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  if (values.model === undefined) throw new InvalidArgumentError("model", "--model <file.gguf> is required");
  const request = await promptRequestFromGguf(values.model, io.cwd);
  const { createLocalModel } = await import("../../providers/local/index.js");
  const model = createLocalModel({ modelPath: resolve(io.cwd, values.model), sequences: 1 });
  try {
    const { ranking, skipped } = await rankPromptFormats(model, {
      renderOptions: {
        ...(request.bosToken !== undefined ? { bosToken: request.bosToken } : {}),
        ...(request.eosToken !== undefined ? { eosToken: request.eosToken } : {}),
      },
    });
    const selected = resolvePromptFormat(request).choice;
    if (values.json) {
      io.stdout(JSON.stringify({ model: values.model, selected, ranking, skipped }, null, 2) + "\n");
      return 0;
    }
    const lines = [`ranking of prompt formats for ${values.model} (mean log-likelihood per token of the canonical reply; higher is better):`];
    ranking.forEach((score, index) => {
      const mean = Number.isFinite(score.meanLogprob) ? score.meanLogprob.toFixed(4) : String(score.meanLogprob);
      lines.push(`  ${String(index + 1).padStart(2)}. ${score.name.padEnd(13)} ${mean.padStart(9)}  (${score.tokenCount} tokens${score.isGreedy ? ", greedy" : ""})`);
    });
    for (const entry of skipped) lines.push(`  skipped ${entry.name}: ${entry.reason}`);
    lines.push(`without --format camelid would use: ${selected.name} (${selected.source}: ${selected.reason})`);
    io.stdout(lines.join("\n") + "\n");
    return 0;
  } finally {
    await model.dispose();
  }
}

/** --messages first, then --system (placed first), then --user/--assistant in command-line order. */
function collectMessages(tokens: ParsedToken[], messagesFile: string | undefined, cwd: string): ChatMessage[] {
  const messages: ChatMessage[] = messagesFile !== undefined ? readMessagesFile(messagesFile, cwd) : [];
  for (const token of tokens) {
    if (token.kind !== "option" || token.value === undefined) continue;
    if (token.name === "user" || token.name === "assistant") messages.push({ role: token.name, content: token.value });
    if (token.name === "system") {
      if (messages[0]?.role === "system") throw new InvalidArgumentError("system", "--system given but the messages file already starts with a system message");
      messages.unshift({ role: "system", content: token.value });
    }
  }
  if (messages.length === 0) throw new InvalidArgumentError("user", "no messages: give --user <text> (and optionally --system/--assistant) or --messages <file.json>");
  return messages;
}

function readMessagesFile(file: string, cwd: string): ChatMessage[] {
  const text = readText(file, cwd, "messages");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError("messages", `${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const list = data !== null && typeof data === "object" && !Array.isArray(data) && "messages" in data ? (data as { messages: unknown }).messages : data;
  const parsed = chatMessagesSchema.safeParse(list);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = (issue?.path ?? []).map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("");
    throw new InvalidArgumentError("messages", `${file}: messages${where}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

function readText(file: string, cwd: string, flag: string): string {
  try {
    return readFileSync(resolve(cwd, file), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(flag, `cannot read --${flag} file ${file}${code ? ` (${code})` : ""}`);
  }
}

/**
 * The prompt as text with special segments visibly marked (inverse video on a terminal, ⟦…⟧ otherwise),
 * plus the exact text JSON-escaped so every space and newline can be seen.
 */
function describeRendered(format: PromptFormat, choice: PromptFormatChoice, rendered: RenderedFormat, isTTY: boolean): string {
  const mark = (text: string) => (isTTY ? `\x1b[7m${text}\x1b[27m` : `⟦${text}⟧`);
  const marked = rendered.segments.map((segment) => (segment.special ? mark(segment.text) : segment.text)).join("");
  const specials: string[] = [];
  let offset = 0;
  for (const segment of rendered.segments) {
    if (segment.special) specials.push(`${JSON.stringify(segment.text)} at ${offset}`);
    offset += segment.text.length;
  }
  return [
    `format: ${format.name}: ${format.description}`,
    `chosen: ${choice.source}: ${choice.reason}`,
    `reference: ${format.reference}`,
    `stops: ${rendered.stops.map((stop) => JSON.stringify(stop)).join(" ")}`,
    `starts with BOS: ${rendered.startsWithBos ? "yes (the tokenizer must not add another)" : "no (the tokenizer adds BOS if the model wants one)"}`,
    `--- prompt (${rendered.text.length} chars; special tokens ${isTTY ? "highlighted" : "marked ⟦…⟧"}) ---`,
    marked,
    `--- end of prompt ---`,
    `exact text (JSON-escaped): ${JSON.stringify(rendered.text)}`,
    `special tokens (${specials.length}): ${specials.join(", ") || "none"}`,
  ].join("\n") + "\n";
}

type ParseOptions = NonNullable<Parameters<typeof parseArgs>[0]>["options"];
type ParsedToken = { kind: string; name?: string; value?: string | undefined; index: number };

/** node:util parseArgs with tokens (message flags keep their order) and one clear error naming the flag. */
function parse<T extends NonNullable<ParseOptions>>(argv: string[], options: T) {
  try {
    const result = parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true });
    return { values: result.values, tokens: result.tokens as ParsedToken[] };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? "arguments";
    throw new InvalidArgumentError(flag, message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}

function rejectPositionals(tokens: ParsedToken[]): void {
  const positional = tokens.find((token) => token.kind === "positional");
  if (positional) throw new InvalidArgumentError("arguments", `unexpected argument "${(positional as { value?: string }).value}"`);
}
