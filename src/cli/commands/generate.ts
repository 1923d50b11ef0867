import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../../errors/index.js";
import type { CallOptions, ChatMessage, StreamPart, Usage, Timings, FinishReason } from "../../spec/index.js";
import { numberFlag, parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";
import { generationFlagOptions, generationOptions, MODEL_FLAG_SETTINGS, modelFlagOptions, selectModel, unescapeFlag } from "../model-flags.js";
import { localModelFlagHelp } from "../local-model-flags.js";
import { formatRenderedPrompt } from "../prompt-display.js";

const help = `usage: camelid generate --model <file.gguf> (--prompt <text> | --user <text>) [options]

Generate a completion. --prompt sends raw text (no prompt format); --user/--system build a chat
rendered with the model's prompt format (reported; force one with --format).

input:
  -p, --prompt <text>      raw prompt ("-" reads stdin)        --prompt-file <file>
  --user <text>            a user message (chat mode)          --system <text>
  --no-bos                 do not add BOS before a raw prompt
model:
  -m, --model <file.gguf|NAME>  a GGUF file, or a pulled/created model   --base-url <url> --remote-model <id> [--api chat|completions]
  --api-key-env <VAR>      (default OPENAI_API_KEY)            --format <name>  force a prompt format
${localModelFlagHelp(MODEL_FLAG_SETTINGS.filter((key) => key !== "promptFormat"))}  --cache-dir <dir>        where pulled and created models are recorded (default $CAMELID_HOME, else ~/.cache/camelid)
sampling:
  -n, --max-tokens <n>  --temperature <t>  --top-p <p>  --top-k <k>  --min-p <p>  --seed <n>
  --repeat-penalty <x>  --repeat-last-n <n>  --frequency-penalty <x>  --presence-penalty <x>
  --stop <s> (repeatable; \\n allowed)  --json-schema <file>  --choices <n>  --logprobs  --top-logprobs <k>
output:
  --show-prompt            print the exact prompt and its token ids (stderr) before generating
  --dry-run                render the prompt only, do not generate
  --json                   print the whole result as JSON (no streaming)
  --quiet                  no statistics line on stderr
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...modelFlagOptions,
    ...generationFlagOptions,
    prompt: { type: "string", short: "p" },
    "prompt-file": { type: "string" },
    user: { type: "string" },
    system: { type: "string" },
    "no-bos": { type: "boolean" },
    choices: { type: "string" },
    logprobs: { type: "boolean" },
    "top-logprobs": { type: "string" },
    "show-prompt": { type: "boolean" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  if (positionals.length) throw new InvalidArgumentError("arguments", `unexpected argument "${positionals[0]}" (use --prompt or --user)`);

  const options: CallOptions = { ...generationOptions(values), ...(await inputOptions(values, io)) };
  const n = numberFlag(values.choices, "choices", { min: 1, max: 16, integer: true });
  if (n) options.n = n;
  const topLogprobs = numberFlag(values["top-logprobs"], "top-logprobs", { min: 0, max: 20, integer: true });
  if (values.logprobs || topLogprobs !== undefined) options.logprobs = true;
  if (topLogprobs !== undefined) options.topLogprobs = topLogprobs;

  const model = await selectModel(values, io).create();
  try {
    if (values["dry-run"]) {
      const prompt = await model.renderPrompt(options);
      io.stdout(values.json ? JSON.stringify(prompt, null, 2) + "\n" : formatRenderedPrompt(prompt));
      return 0;
    }
    if (values.json) {
      const result = await model.doGenerate(options);
      io.stdout(JSON.stringify(result, null, 2) + "\n");
      return result.choices.some((choice) => choice.finishReason === "error") ? 1 : 0;
    }
    return await streamToTerminal(model.doStream(options), io, {
      showPrompt: Boolean(values["show-prompt"]),
      quiet: Boolean(values.quiet),
      echoPrompt: options.prompt,
      choices: options.n ?? 1,
    });
  } finally {
    await model.dispose?.();
  }
}

async function inputOptions(values: Record<string, unknown>, io: CliIo): Promise<Pick<CallOptions, "prompt" | "messages" | "addBos">> {
  let prompt = values.prompt as string | undefined;
  const promptFile = values["prompt-file"] as string | undefined;
  const user = values.user as string | undefined;
  const system = values.system as string | undefined;
  if (promptFile) prompt = readFileSync(promptFile, "utf8");
  if (prompt === "-") prompt = await readAll(io.stdin);
  if (prompt !== undefined && user !== undefined) {
    throw new InvalidArgumentError("prompt", "give either --prompt (raw text) or --user (chat), not both");
  }
  if (prompt !== undefined) {
    if (system !== undefined) throw new InvalidArgumentError("system", "--system needs chat mode (--user), not a raw --prompt");
    return { prompt: values.prompt === undefined ? prompt : unescapeFlag(prompt), ...(values["no-bos"] ? { addBos: false } : {}) };
  }
  if (user === undefined) throw new InvalidArgumentError("prompt", "nothing to generate from: give --prompt <text> or --user <text>");
  const messages: ChatMessage[] = [];
  if (system !== undefined) messages.push({ role: "system", content: system });
  messages.push({ role: "user", content: user });
  return { messages };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** Print a stream as it arrives; with several choices, each is printed in full under a header at the end. */
export async function streamToTerminal(
  started: ReturnType<import("../../spec/index.js").LanguageModel["doStream"]>,
  io: CliIo,
  settings: { showPrompt: boolean; quiet: boolean; echoPrompt?: string; choices: number },
): Promise<number> {
  const { stream } = await started;
  const texts: string[] = Array.from({ length: settings.choices }, () => "");
  const finishes: FinishReason[] = [];
  let usage: Usage | undefined;
  let timings: Timings | undefined;
  let failed: Error | undefined;
  const live = settings.choices === 1;
  for await (const part of stream as unknown as AsyncIterable<StreamPart>) {
    switch (part.type) {
      case "stream-start":
        if (settings.showPrompt && part.prompt) io.stderr(formatRenderedPrompt(part.prompt));
        for (const warning of part.warnings) io.stderr(`warning: ${warning.message}\n`);
        if (live && settings.echoPrompt !== undefined) io.stdout(settings.echoPrompt);
        break;
      case "text-delta":
        texts[part.choiceIndex] += part.delta;
        if (live) io.stdout(part.delta);
        break;
      case "choice-finish":
        finishes[part.choiceIndex] = part.finishReason;
        break;
      case "finish":
        usage = part.usage;
        timings = part.timings;
        break;
      case "error":
        failed = part.error;
        break;
    }
  }
  if (live) io.stdout("\n");
  else texts.forEach((text, index) => io.stdout(`=== choice ${index} (${finishes[index] ?? "?"}) ===\n${text}\n`));
  if (failed) {
    io.stderr(`error: ${failed.message}\n`);
    return 1;
  }
  if (!settings.quiet && usage && timings) {
    io.stderr(
      `[${usage.promptTokens} prompt + ${usage.completionTokens} generated tokens; ` +
        `first token ${timings.timeToFirstTokenMs.toFixed(0)} ms; ${timings.tokensPerSecond.toFixed(1)} tokens/s; ` +
        `finish: ${finishes.join(",") || "?"}]\n`,
    );
  }
  return 0;
}
