// A local GGUF model run by llama.cpp's own server, one supervised process per model. camelid stays the
// gateway: it renders and tokenizes the exact prompt (through the server's tokenizer, llama.cpp's own),
// sends the token ids to /completion with the sampling settings one for one, and turns the answer (streamed,
// or whole when the caller collects it) into its own stream parts, so the logged prompt is exactly what the
// model saw.
import { MEDIA_MARKER } from "../../spec/messages.js";
import { imagesOf, multimodalPrompt } from "../shared/multimodal-prompt.js";
import { basename, join } from "node:path";
import { ConnectionError, ContextLengthExceededError, InvalidArgumentError, ModelCapabilityError, ModelLoadError, ModelNotFoundError, isCamelidError } from "../../errors/index.js";
import { checkModelFile, checkTensorFile, metadataBoolean, metadataNumber, metadataString, projectorImageTokens, type GgufHeader, type ProjectorImageTokens } from "../../gguf/index.js";
import {
  buildTokenizedPrompt,
  describeFormatMisfit,
  fitPromptFormat,
  promptFormatRequestFor,
  promptFormats,
  resolveModelPromptFormat,
  resolvePromptFormat,
  specialTextsOf,
  type PromptFormatFit,
  type PromptModelInfo,
} from "../../prompts/index.js";
import type {
  CallOptions,
  CallWarning,
  GenerateResult,
  LanguageModel,
  ModelDescription,
  RenderedPrompt,
  StreamResult,
  TokenLogprob,
} from "../../spec/index.js";
import { defaultThreadsFor } from "../../spec/cpu-threads.js";
import { DEFAULT_KEEP_ALIVE_SECONDS } from "../../spec/local-model-options.js";
import type { ChoiceOutcome } from "../local/choice-runner.js";
import { randomSeed, resolveSampling, validateCallOptions } from "../local/sampling.js";
import { checkTokenIds, choiceStream, generateFromStream } from "../shared/choice-stream.js";
import { collectWarnings, localProviderOptions } from "../local/warnings.js";
import { ServerSentEventParser } from "../openai/sse-parser.js";
import { errorFromResponse, extractErrorDetails, statusOfStreamError } from "../openai/error-mapping.js";
import { parseJsonOrUndefined, type TransportSettings } from "../openai/http-transport.js";
import { completionChunkSchema, detokenizeTokens, engineTransport, openCompletion, readProps, tokenizeText, type CompletionChunk, type CompletionRequest } from "./engine-api.js";
import { resolveLlamaServerBinary } from "./engine-binary.js";
import { EngineLog } from "./engine-log.js";
import { EngineProcess } from "./engine-process.js";
import { EngineSupervisor, type EngineLease, type EngineProcessState, type SupervisedProcess } from "./engine-supervisor.js";
import type { ResolvedLlamaServerModelOptions } from "./options.js";
import { TokenizeCache } from "./tokenize-cache.js";

export const LLAMA_SERVER_PROVIDER = "llama-server";

/** The in-process engine's defaults, so the two engines differ in the program only (see providers/local/options.ts). */
const DEFAULT_SEQUENCES = 4;
const DEFAULT_MAX_CONTEXT = 2048;
const DEFAULT_LOAD_TIMEOUT_MS = 600_000;
/** A streamed /completion may be silent this long (a long prompt's prefill on a CPU) before it counts as hung. */
const COMPLETION_SILENCE_MS = 600_000;
/** tokenizer.ggml.token_type of a control token (BOS, EOS, <|im_end|>): not text, dropped by detokenize. */
const CONTROL_TOKEN_TYPE = 3;

/** What the GGUF says, read once with camelid's own reader (which also refuses a corrupt file before llama.cpp sees it). */
interface ModelFacts {
  modelName: string;
  architecture?: string;
  chatTemplate?: string;
  trainContextSize?: number;
  vocabularySize: number;
  bos: number | null;
  bosString?: string;
  eos: number | null;
  eosString?: string;
  /** tokenizer.ggml.add_bos_token when the file says; otherwise llama-server is asked. */
  addBos?: boolean;
  controlTokens: Set<number>;
}

/** Known once the first process has run: what the server reports and what its tokenizer does. */
interface EngineFacts {
  contextSize: number;
  addBos: boolean;
}

interface LoadedState {
  facts: ModelFacts;
  engine: EngineFacts;
  formatFits: Map<string, PromptFormatFit>;
  specialCounts: Map<string, number>;
  /** What one image becomes, read from the --mmproj projector (undefined: no projector). */
  imageTokens?: ProjectorImageTokens;
  /** Prompt texts already tokenized: a repeated one needs no /tokenize round trip. */
  tokenizeCache: TokenizeCache;
}

function readFacts(header: GgufHeader, fallbackName: string): ModelFacts {
  const { metadata } = header;
  const architecture = metadataString(metadata, "general.architecture");
  const tokens = metadata.get("tokenizer.ggml.tokens");
  const vocabulary = tokens?.type === "array" ? (tokens.value.values as string[]) : [];
  const types = metadata.get("tokenizer.ggml.token_type");
  const tokenTypes = types?.type === "array" ? Array.from(types.value.values as ArrayLike<number>, Number) : [];
  const tokenId = (key: string) => {
    const id = metadataNumber(metadata, key);
    return id !== undefined && id >= 0 && id < vocabulary.length ? id : null;
  };
  const bos = tokenId("tokenizer.ggml.bos_token_id");
  const eos = tokenId("tokenizer.ggml.eos_token_id");
  return {
    modelName: metadataString(metadata, "general.name") ?? fallbackName,
    architecture,
    chatTemplate: metadataString(metadata, "tokenizer.chat_template"),
    trainContextSize: architecture ? metadataNumber(metadata, `${architecture}.context_length`) : undefined,
    vocabularySize: vocabulary.length,
    bos,
    bosString: bos === null ? undefined : vocabulary[bos],
    eos,
    eosString: eos === null ? undefined : vocabulary[eos],
    addBos: metadataBoolean(metadata, "tokenizer.ggml.add_bos_token"),
    controlTokens: new Set(tokenTypes.flatMap((type, id) => (type === CONTROL_TOKEN_TYPE ? [id] : []))),
  };
}

/** A connection llama-server refused: nothing was sent, so the request may go to a new process. */
function connectionRefused(error: unknown): boolean {
  const cause = error instanceof ConnectionError ? (error.cause as { cause?: { code?: unknown } } | undefined)?.cause : undefined;
  return cause?.code === "ECONNREFUSED";
}

export class LlamaServerLanguageModel implements LanguageModel {
  readonly specificationVersion = "camelid-v1" as const;
  readonly provider = LLAMA_SERVER_PROVIDER;
  readonly modelId: string;
  private state?: Promise<LoadedState>;
  private supervisor?: EngineSupervisor;
  private disposed = false;
  /** The process's log; created with the supervisor. */
  private engineLog?: EngineLog;
  private readonly transport: TransportSettings;

  constructor(private readonly options: ResolvedLlamaServerModelOptions) {
    this.modelId = options.modelId ?? basename(options.modelPath).replace(/\.gguf$/i, "");
    this.transport = engineTransport(this.modelId, COMPLETION_SILENCE_MS);
  }

  /** Where this model's llama-server output goes. */
  get logPath(): string {
    return join(this.options.logDir, `${this.modelId.replace(/[^A-Za-z0-9._-]/g, "_")}.log`);
  }

  /** The supervisor's counters (state, starts, crashes); undefined before the first load. */
  engineStats() {
    return this.supervisor?.stats();
  }

  /** The process's state for /v1/models ("stopped" before the first call). */
  processState(): EngineProcessState {
    return this.supervisor?.processState() ?? "stopped";
  }

  /**
   * A replica set's health check. A stopped (idle) or starting engine is healthy: it serves on demand. A
   * running one must answer /health. A crashed one is unhealthy, and the check starts it again in the
   * background (after the supervisor's backoff), so the replica rejoins its set once the process runs.
   */
  async checkEngine(): Promise<void> {
    const state = this.processState();
    if (state === "stopped" || state === "starting") return;
    if (state === "crashed-backing-off") {
      void this.supervisor!.acquire().then(
        (lease) => lease.release(),
        () => undefined, // the supervisor logged why; the next check tries again
      );
      throw new ModelLoadError(this.options.modelPath, `model "${this.modelId}": llama-server crashed; it is starting again (log: ${this.logPath})`);
    }
    if (!(await this.supervisor!.healthy())) throw new ModelLoadError(this.options.modelPath, `model "${this.modelId}": llama-server does not answer /health (log: ${this.logPath})`);
  }

  /** The running llama-server's pid, if one runs. */
  async enginePid(): Promise<number | undefined> {
    if (this.supervisor?.state() !== "running") return undefined;
    const lease = await this.supervisor.acquire();
    try {
      return await lease.process.serverPid();
    } finally {
      lease.release();
    }
  }

  /**
   * Checks the model file (camelid's GGUF reader first: a corrupt file is a ModelLoadError naming it, never a
   * hang inside llama.cpp), finds the executable, and starts llama-server once to learn its context size.
   */
  load(): Promise<LoadedState> {
    if (this.disposed) return Promise.reject(new ModelLoadError(this.options.modelPath, `model "${this.modelId}" was disposed`));
    this.state ??= this.createState();
    this.state.catch(() => (this.state = undefined));
    return this.state;
  }

  private async createState(): Promise<LoadedState> {
    const { options } = this;
    const header = await checkModelFile(options.modelPath);
    for (const [index, adapter] of (options.lora ?? []).entries()) {
      await checkTensorFile(adapter.path).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new ModelNotFoundError(adapter.path, `lora[${index}]: LoRA adapter file not found: ${adapter.path}`);
        throw error;
      });
    }
    const facts = readFacts(header, this.modelId);
    const imageTokens = options.mmproj === undefined ? undefined : projectorImageTokens(await checkTensorFile(options.mmproj));
    const binary = resolveLlamaServerBinary({ explicitBin: options.llamaServerBin, cacheDir: options.cacheDir });
    const contextSize = options.contextSize ?? Math.min(facts.trainContextSize || DEFAULT_MAX_CONTEXT, DEFAULT_MAX_CONTEXT);
    const args = this.serverArguments(contextSize);
    const log = (this.engineLog ??= new EngineLog(this.logPath));
    const keepAliveSeconds = options.keepAliveSeconds ?? DEFAULT_KEEP_ALIVE_SECONDS;
    this.supervisor ??= new EngineSupervisor({
      start: () => EngineProcess.start({ binary, args, log, modelPath: options.modelPath, readyTimeoutMs: options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS }),
      keepAliveMs: keepAliveSeconds < 0 ? -1 : keepAliveSeconds * 1000,
      note: (line) => log.note(line),
    });
    const lease = await this.supervisor.acquire();
    try {
      const baseURL = lease.process.baseURL;
      const props = await readProps(this.transport, baseURL);
      // Whether llama.cpp puts BOS in front: ask its tokenizer rather than guess from the vocabulary type.
      const addBos = facts.addBos ?? (facts.bos !== null && (await tokenizeText(this.transport, baseURL, "", { addSpecial: true, parseSpecial: false }))[0] === facts.bos);
      return { facts, engine: { contextSize: props.slotContextSize, addBos }, formatFits: new Map(), specialCounts: new Map(), imageTokens, tokenizeCache: new TokenizeCache() };
    } finally {
      lease.release();
    }
  }

  /** llama-server's flags for this model's settings; --host and --port are the process's own. */
  private serverArguments(contextSize: number): string[] {
    const { options } = this;
    const sequences = options.sequences ?? DEFAULT_SEQUENCES;
    const args = [
      "--model", options.modelPath,
      "--alias", this.modelId,
      // One slot per sequence with its own contextSize tokens, as node-llama-cpp reserves them.
      "--parallel", String(sequences),
      "--ctx-size", String(contextSize * sequences),
      "--no-kv-unified",
      "--flash-attn", options.flashAttention ? "on" : "off",
      "--no-webui",
    ];
    // Always named, so that both engines take their default from one place (src/spec/cpu-threads.ts).
    args.push("--threads", String(options.threads ?? defaultThreadsFor("llama-server")));
    if (options.batchSize !== undefined) args.push("--batch-size", String(options.batchSize));
    for (const adapter of options.lora ?? []) args.push("--lora-scaled", `${adapter.path}:${adapter.scale ?? 1}`);
    if (options.mmproj !== undefined) args.push("--mmproj", options.mmproj);
    return args;
  }

  private promptInfo(state: LoadedState, baseURL: string): PromptModelInfo {
    const { facts } = state;
    return {
      tokenizer: {
        tokenize: (text, special) => state.tokenizeCache.tokenize(text, special, () => tokenizeText(this.transport, baseURL, text, { addSpecial: false, parseSpecial: special })),
        bos: facts.bos,
        bosString: facts.bosString,
        eosString: facts.eosString,
        addBos: state.engine.addBos,
      },
      modelName: facts.modelName,
      architecture: facts.architecture,
      chatTemplate: this.options.chatTemplate ?? facts.chatTemplate,
      defaultPromptFormat: this.options.promptFormat,
      imageTokens: state.imageTokens,
    };
  }

  /** A running process for one call; a process found dead before its exit was seen is replaced once. */
  private async withEngine<T>(use: (lease: EngineLease, state: LoadedState) => Promise<T>): Promise<T> {
    const state = await this.load();
    const supervisor = this.supervisor!;
    for (let attempt = 1; ; attempt++) {
      const lease = await supervisor.acquire();
      try {
        return await use(lease, state);
      } catch (error) {
        if (attempt === 1 && this.options.retryAfterCrash !== false && error instanceof ConnectionError && !(await lease.process.healthy())) {
          await supervisor.discard(lease.process);
          continue;
        }
        throw error;
      } finally {
        lease.release();
      }
    }
  }

  /** The prompt format chat calls get by default and whether the vocabulary can write it (the same choice `train` makes). */
  async promptFormatFit(explicit?: string): Promise<PromptFormatFit> {
    return this.withEngine((lease, state) => this.fitFor(state, lease.process.baseURL, explicit));
  }

  /**
   * prompts/fit counts tokens synchronously; here the tokenizer is across HTTP, so the special texts of the
   * chosen format and of every registry format are counted first (once each), then looked up.
   */
  private async fitFor(state: LoadedState, baseURL: string, explicit: string | undefined): Promise<PromptFormatFit> {
    const key = explicit ?? "";
    const known = state.formatFits.get(key);
    if (known) return known;
    const info = this.promptInfo(state, baseURL);
    const request = promptFormatRequestFor(info, explicit);
    const markup = { bosToken: info.tokenizer.bosString, eosToken: info.tokenizer.eosString };
    const formats = [resolvePromptFormat(request).format, ...promptFormats];
    const texts = new Set(
      formats.flatMap((format) => {
        try {
          return specialTextsOf(format, markup);
        } catch {
          return [];
        }
      }),
    );
    // Through the model's tokenize cache (the prompts use the same texts), side by side.
    const uncounted = [...texts].filter((text) => !state.specialCounts.has(text));
    await Promise.all(uncounted.map(async (text) => state.specialCounts.set(text, (await info.tokenizer.tokenize(text, true)).length)));
    const fit = fitPromptFormat(request, (text) => state.specialCounts.get(text) ?? 0);
    state.formatFits.set(key, fit);
    return fit;
  }

  async renderPrompt(options: CallOptions): Promise<RenderedPrompt> {
    validateCallOptions(options);
    return this.withEngine(async (lease, state) => (await buildTokenizedPrompt(this.promptInfo(state, lease.process.baseURL), options, state.engine.contextSize)).rendered);
  }

  /**
   * The whole answer: the same call as doStream, but llama-server is asked for each choice's answer in one
   * piece (see `delivery`), then the parts are collected as for any stream.
   */
  async doGenerate(options: CallOptions): Promise<GenerateResult> {
    return generateFromStream(this.modelId, options, await this.openCall(options, "whole"));
  }

  doStream(options: CallOptions): Promise<StreamResult> {
    return this.openCall(options, "stream");
  }

  /**
   * One call as a stream of parts. `delivery` says what the consumer does with it: "stream" reads the
   * deltas as they come, so each choice is a streamed /completion; "whole" collects the answer, so each
   * choice is one non-streamed /completion, which spares llama-server's decoding loop one event per token
   * (JSON built and sent to its HTTP thread) and camelid one event to parse. The text and the finish are
   * the same; the one difference in llama-server's answers is that a non-streamed answer stopped by a stop
   * string leaves out that string's tokens' probabilities, so a call that wants logprobs and has stop
   * strings streams either way.
   */
  private async openCall(options: CallOptions, delivery: "stream" | "whole"): Promise<StreamResult> {
    validateCallOptions(options);
    const state = await this.load();
    const supervisor = this.supervisor!;
    // The lease is held until the stream ends: the idle clock must not stop a process mid-answer.
    let lease = await supervisor.acquire();
    let built;
    let warnings: CallWarning[];
    try {
      const prepare = async (baseURL: string) => {
        const prompt = await buildTokenizedPrompt(this.promptInfo(state, baseURL), options, state.engine.contextSize);
        const found = collectWarnings(options);
        if (options.messages !== undefined) {
          const misfit = describeFormatMisfit(await this.fitFor(state, baseURL, options.promptFormat), this.options.modelPath);
          if (misfit) found.push({ type: "other", setting: "promptFormat", message: `${misfit}; its special texts were tokenized as plain text` });
        }
        return { prompt, found };
      };
      try {
        ({ prompt: built, found: warnings } = await prepare(lease.process.baseURL));
      } catch (error) {
        // Killed a moment ago and not yet seen to exit: replace the process once.
        if (this.options.retryAfterCrash === false || !(error instanceof ConnectionError) || (await lease.process.healthy())) throw error;
        await supervisor.discard(lease.process);
        lease.release();
        lease = await supervisor.acquire();
        ({ prompt: built, found: warnings } = await prepare(lease.process.baseURL));
      }
    } catch (error) {
      lease.release();
      throw error;
    }
    const contextSize = state.engine.contextSize;
    const promptTokens = built.tokens;
    // built.count: the images' embeddings included (mtmd's count), not their markers' text.
    if (built.count >= contextSize) {
      lease.release();
      throw new ContextLengthExceededError(built.count, contextSize);
    }
    // Images go as the rendered text with its media markers and the images' bytes: llama-server's mtmd
    // tokenizes them itself (token ids cannot carry an image). It adds BOS (add_special), so a BOS the
    // format rendered as text is left out.
    const images = imagesOf(built.rendered.messages ?? []);
    if (images.length > 0 && this.options.mmproj === undefined) {
      lease.release();
      throw new ModelCapabilityError(this.modelId, "vision");
    }
    const wirePrompt =
      images.length > 0 ? multimodalPrompt(built.rendered.text, images, MEDIA_MARKER, state.engine.addBos ? state.facts.bosString : undefined) : promptTokens;
    const wantLogprobs = options.logprobs === true || options.topLogprobs !== undefined;
    const topLogprobs = wantLogprobs ? (options.topLogprobs ?? 0) : undefined;
    const room = contextSize - built.count;
    const maxTokens = Math.min(options.maxTokens ?? room, room);
    const stops = [...(options.stop ?? []), ...built.rendered.formatStops];
    const streamed = delivery === "stream" || (topLogprobs !== undefined && stops.length > 0);
    const n = options.n ?? 1;
    const baseSeed = options.seed ?? randomSeed();
    const cachePrompt = localProviderOptions(options).cachePrompt !== false;
    const jsonSchema = options.responseFormat?.type === "json" ? (options.responseFormat.schema ?? { type: "object" }) : undefined;
    const requestFor = (choiceIndex: number): CompletionRequest => {
      const sampling = resolveSampling(options, choiceIndex, baseSeed);
      return {
        prompt: wirePrompt,
        n_predict: maxTokens,
        stream: streamed,
        temperature: sampling.temperature,
        top_k: sampling.topK,
        top_p: sampling.topP,
        min_p: sampling.minP,
        repeat_penalty: sampling.repeatPenalty,
        repeat_last_n: sampling.repeatLastN,
        frequency_penalty: sampling.frequencyPenalty,
        presence_penalty: sampling.presencePenalty,
        seed: sampling.seed,
        stop: stops,
        cache_prompt: cachePrompt,
        // llama-server sends no probabilities for n_probs 0: ask for one and keep the chosen token's.
        ...(topLogprobs !== undefined ? { n_probs: Math.max(1, topLogprobs) } : {}),
        ...(jsonSchema ? { json_schema: jsonSchema } : {}),
      };
    };

    const eosString = state.facts.eosString;
    // A prompt whose texts were all tokenized before reached no process yet: one killed a moment ago (not yet
    // seen to exit) refuses the /completion's connection instead, and is replaced once, for every choice.
    let held = lease;
    let replacement: Promise<string> | undefined;
    const replaceDeadProcess = async (error: unknown): Promise<string | undefined> => {
      if (replacement) return replacement;
      if (this.options.retryAfterCrash === false || !connectionRefused(error) || (await held.process.healthy())) return undefined;
      replacement ??= (async () => {
        await supervisor.discard(held.process);
        const next = await supervisor.acquire();
        held.release();
        held = next;
        return next.process.baseURL;
      })();
      return replacement;
    };
    const stream = choiceStream({
      n,
      warnings,
      prompt: built.rendered,
      // An image of unknown size: the prompt's size as llama-server reports it evaluated.
      promptTokenCount: built.rendered.tokenCount === null ? undefined : built.count,
      abortSignal: options.abortSignal,
      runChoice: (choiceIndex, signal, onText) => this.runChoice(held.process.baseURL, requestFor(choiceIndex), signal, topLogprobs, eosString, onText, replaceDeadProcess),
      // The lease is held until every choice has ended: the idle clock must not stop a process mid-answer.
      onSettled: () => held.release(),
    });
    return { stream, warnings, prompt: built.rendered };
  }

  /** One choice: one /completion, streamed or whole (`body.stream`), turned into text deltas and an outcome. */
  private async runChoice(
    baseURL: string,
    body: CompletionRequest,
    signal: AbortSignal,
    topLogprobs: number | undefined,
    eosString: string | undefined,
    onText: (delta: string, logprobs: TokenLogprob[] | undefined) => void,
    replaceDeadProcess: (error: unknown) => Promise<string | undefined>,
  ): Promise<ChoiceOutcome> {
    const startedAt = performance.now();
    const outcome: ChoiceOutcome = { finishReason: "stop", completionTokens: 0, evaluatedPromptTokens: 0, startedAt, endedAt: startedAt };
    let url = `${baseURL}/completion`;
    let open;
    try {
      open = await openCompletion(this.transport, baseURL, body, signal).catch(async (error: unknown) => {
        const replaced = signal.aborted ? undefined : await replaceDeadProcess(error);
        if (replaced === undefined) throw error;
        url = `${replaced}/completion`;
        return openCompletion(this.transport, replaced, body, signal);
      });
    } catch (error) {
      if (signal.aborted) return { ...outcome, finishReason: "abort", endedAt: performance.now() };
      throw error;
    }
    /** One event (or the whole answer) as a chunk; llama-server's error events become camelid's errors. */
    const chunkOf = (data: string, event: string): CompletionChunk => {
      const payload = parseJsonOrUndefined(data);
      const errorBody = event === "error" && extractErrorDetails(payload) === undefined ? { error: payload } : payload;
      if (event === "error" || extractErrorDetails(errorBody)) {
        throw errorFromResponse({ status: statusOfStreamError(extractErrorDetails(errorBody)), body: errorBody, bodyText: data, url, modelId: this.modelId });
      }
      const parsed = completionChunkSchema.safeParse(payload);
      if (!parsed.success) throw new ConnectionError(`${url} ${body.stream ? "streamed an unexpected event" : "answered an unexpected body"}: ${data.slice(0, 200)}`);
      return parsed.data;
    };
    if (!body.stream) {
      let text: string;
      try {
        text = await open.response.text();
      } catch (error) {
        if (signal.aborted) return { ...outcome, finishReason: "abort", endedAt: performance.now() };
        throw open.lifetime.errorFor(error, `reading the answer from ${url} (did llama-server crash? log: ${this.logPath})`);
      } finally {
        open.lifetime.dispose();
      }
      const chunk = chunkOf(text, "");
      if (!chunk.stop) throw new ConnectionError(`${url} answered before its generation stopped: ${text.slice(0, 200)}`);
      this.applyChunk(chunk, outcome, topLogprobs, eosString, onText);
      outcome.endedAt = performance.now();
      // The first token came predicted_ms before the last, by llama-server's clock (time to first token).
      const decodeMs = chunk.timings?.predicted_ms;
      if (outcome.firstTokenAt !== undefined && decodeMs !== undefined) outcome.firstTokenAt = Math.max(startedAt, outcome.endedAt - decodeMs);
      return outcome;
    }
    const reader = open.response.body?.getReader();
    if (!reader) throw new ConnectionError(`${url} answered without a body`);
    const parser = new ServerSentEventParser();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        const events = done ? parser.finish().events : parser.push(value);
        for (const event of events) {
          if (this.applyChunk(chunkOf(event.data, event.event), outcome, topLogprobs, eosString, onText)) {
            outcome.endedAt = performance.now();
            return outcome;
          }
        }
        if (done) throw new ConnectionError(`the stream from ${url} ended before its last event (did llama-server crash? log: ${this.logPath})`);
      }
    } catch (error) {
      if (signal.aborted) return { ...outcome, finishReason: "abort", endedAt: performance.now() };
      throw isCamelidError(error) ? error : open.lifetime.errorFor(error, `reading the stream from ${url}`);
    } finally {
      open.lifetime.dispose();
      reader.cancel().catch(() => undefined);
    }
  }

  /** Applies one /completion event (or a whole answer); true when it was the last one. */
  private applyChunk(
    chunk: CompletionChunk,
    outcome: ChoiceOutcome,
    topLogprobs: number | undefined,
    eosString: string | undefined,
    onText: (delta: string, logprobs: TokenLogprob[] | undefined) => void,
  ): boolean {
    const logprobs =
      topLogprobs === undefined
        ? undefined
        : chunk.completion_probabilities?.map(
            (entry): TokenLogprob => ({
              token: entry.token,
              logprob: entry.logprob,
              ...(entry.bytes ? { bytes: entry.bytes } : {}),
              tokenId: entry.id,
              ...(topLogprobs > 0
                ? { topLogprobs: (entry.top_logprobs ?? []).slice(0, topLogprobs).map((alternative) => ({ token: alternative.token, logprob: alternative.logprob, ...(alternative.bytes ? { bytes: alternative.bytes } : {}) })) }
                : {}),
            }),
          );
    if (chunk.content !== "" || (logprobs && logprobs.length > 0)) {
      outcome.firstTokenAt ??= performance.now();
      onText(chunk.content, logprobs && logprobs.length > 0 ? logprobs : undefined);
    }
    if (chunk.tokens_predicted !== undefined) outcome.completionTokens = chunk.tokens_predicted;
    if (!chunk.stop) return false;
    outcome.evaluatedPromptTokens = chunk.timings?.prompt_n ?? chunk.tokens_evaluated ?? 0;
    outcome.reportedPromptTokens = chunk.tokens_evaluated;
    if (chunk.stop_type === "limit") outcome.finishReason = "length";
    else if (chunk.stop_type === "word") {
      outcome.finishReason = "stop";
      if (chunk.stopping_word) outcome.stopReason = chunk.stopping_word;
    } else if (chunk.stop_type === "eos") {
      outcome.finishReason = "stop";
      if (eosString !== undefined) outcome.stopReason = eosString;
    }
    return true;
  }

  async tokenize(text: string, options: { addBos?: boolean; parseSpecial?: boolean } = {}): Promise<number[]> {
    if (typeof text !== "string") throw new InvalidArgumentError("text", "text to tokenize must be a string");
    return this.withEngine(async (lease, state) => {
      const tokens = text === "" ? [] : await tokenizeText(this.transport, lease.process.baseURL, text, { addSpecial: false, parseSpecial: options.parseSpecial ?? false });
      const addBos = options.addBos ?? state.engine.addBos;
      return addBos && state.facts.bos !== null && tokens[0] !== state.facts.bos ? [state.facts.bos, ...tokens] : tokens;
    });
  }

  async detokenize(tokens: number[]): Promise<string> {
    return this.withEngine(async (lease, state) => {
      checkTokenIds(tokens, state.facts.vocabularySize, "tokens");
      const visible = tokens.filter((token) => !state.facts.controlTokens.has(token));
      return detokenizeTokens(this.transport, lease.process.baseURL, visible);
    });
  }

  async describe(): Promise<ModelDescription> {
    return this.withEngine(async (lease, state) => {
      const resolved = (() => {
        try {
          return resolveModelPromptFormat(this.promptInfo(state, lease.process.baseURL), undefined).choice;
        } catch {
          return undefined;
        }
      })();
      return {
        modelId: this.modelId,
        provider: LLAMA_SERVER_PROVIDER,
        contextSize: state.engine.contextSize,
        ...(resolved ? { promptFormat: { name: resolved.name, source: resolved.source, reason: resolved.reason } } : {}),
      };
    });
  }

  /** Ends the process; the model cannot be used afterwards. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.state?.catch(() => undefined);
    await this.supervisor?.close();
  }
}

export type { SupervisedProcess };
