import { existsSync } from "node:fs";
import { basename } from "node:path";
import { AbortError, ContextLengthExceededError, InvalidArgumentError, ModelLoadError, ModelNotFoundError } from "../../errors/index.js";
import type {
  CallOptions,
  EngineBinaryInfo,
  GenerateResult,
  LanguageModel,
  LogLikelihoodRequest,
  TokenLogLikelihoodRequest,
  LogLikelihoodResult,
  ModelDescription,
  RenderedPrompt,
  StreamResult,
} from "../../spec/index.js";
import { checkTensorFile } from "../../gguf/index.js";
import { describeFormatMisfit, type PromptFormatFit } from "../../prompts/index.js";
import { runChoice } from "./choice-runner.js";
import { checkTokenIds, choiceStream, generateFromStream } from "../shared/choice-stream.js";
import { getLlamaRuntime, loadNodeLlamaCpp, type LlamaContext, type LlamaContextSequence, type LlamaGrammar, type LlamaModel, type NodeLlamaCpp, type Token } from "./llama-runtime.js";
import { scoreContinuation, scoreTokens } from "./log-likelihood.js";
import { acquireModel, type LoadProgressListener, type ModelHandle } from "./model-cache.js";
import { DEFAULT_FLASH_ATTENTION, DEFAULT_MAX_CONTEXT, DEFAULT_SEQUENCES, defaultThreadsForBuild, type ResolvedLocalModelOptions } from "./options.js";
import { buildPrompt, fitFormatFor, resolveFormatFor, withBos, type BuiltPrompt, type ModelPromptInfo } from "./prompt-tokens.js";
import { randomSeed, resolveSampling, validateCallOptions } from "./sampling.js";
import { SlotPool } from "./sequence-pool.js";
import { dispatchAfterQueuedDecodes } from "./batch-dispatch.js";
import { buildTokenBytesTable, decodeTokenBytes, type TokenBytesTable } from "./token-bytes.js";
import { checkJsonSchema, grammarStops } from "./json-schema-support.js";
import { collectWarnings, localProviderOptions } from "./warnings.js";

export const LOCAL_PROVIDER = "local";

/** Everything a loaded model needs at call time; created once, on first use. */
interface LoadedState {
  library: NodeLlamaCpp;
  handle: ModelHandle;
  model: LlamaModel;
  context: LlamaContext;
  slots: SlotPool<LlamaContextSequence>;
  tokenTable: TokenBytesTable;
  promptInfo: ModelPromptInfo;
  grammars: Map<string, Promise<LlamaGrammar>>;
  /** Format fits by requested name ("" = the model's default), computed once each. */
  formatFits: Map<string, PromptFormatFit>;
}

export class LocalLanguageModel implements LanguageModel {
  readonly specificationVersion = "camelid-v1" as const;
  readonly provider = LOCAL_PROVIDER;
  readonly modelId: string;
  private state?: Promise<LoadedState>;
  private disposed = false;
  /** Callers of load() waiting for the load in flight who asked to hear its progress. */
  private readonly progressListeners = new Set<LoadProgressListener>();
  /** The binary node-llama-cpp loaded and the threads this context got; known once loaded. */
  private binary: EngineBinaryInfo | undefined;

  constructor(private readonly options: ResolvedLocalModelOptions) {
    this.modelId = options.modelId ?? options.alias ?? basename(options.modelPath).replace(/\.gguf$/i, "");
  }

  engineInfo(): EngineBinaryInfo | undefined {
    return this.binary;
  }

  /**
   * Loads the model and creates its context (shared model cache; one context per LanguageModel).
   * `onProgress` hears the fraction of the weights loaded while this load runs.
   */
  load(onProgress?: LoadProgressListener): Promise<LoadedState> {
    if (this.disposed) return Promise.reject(new ModelLoadError(this.options.modelPath, `model "${this.modelId}" was disposed`));
    this.state ??= this.createState();
    this.state.catch(() => (this.state = undefined));
    if (onProgress) {
      this.progressListeners.add(onProgress);
      const forget = () => this.progressListeners.delete(onProgress);
      this.state.then(forget, forget);
    }
    return this.state;
  }

  private async createState(): Promise<LoadedState> {
    const { options } = this;
    for (const [index, adapter] of (options.lora ?? []).entries()) {
      if (!existsSync(adapter.path)) throw new ModelNotFoundError(adapter.path, `lora[${index}]: LoRA adapter file not found: ${adapter.path}`);
      // llama.cpp reads adapters with the same native parser as models: check them with ours first.
      await checkTensorFile(adapter.path);
    }
    const library = await loadNodeLlamaCpp();
    const llama = await getLlamaRuntime({ gpu: options.gpu ?? false });
    // The default threads depend on which binary node-llama-cpp loaded (src/spec/cpu-threads.ts).
    const threads = options.threads ?? defaultThreadsForBuild(llama.buildType);
    const handle = await acquireModel(options.modelPath, options.gpu ?? false, {
      loadTimeoutMs: options.loadTimeoutMs,
      onProgress: (fraction) => this.progressListeners.forEach((listener) => listener(fraction)),
    });
    const { model } = handle;
    try {
      const sequences = options.sequences ?? DEFAULT_SEQUENCES;
      const contextSize = options.contextSize ?? Math.min(model.trainContextSize || DEFAULT_MAX_CONTEXT, DEFAULT_MAX_CONTEXT);
      const context = await model.createContext({
        contextSize,
        sequences,
        threads,
        flashAttention: options.flashAttention ?? DEFAULT_FLASH_ATTENTION,
        ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
        ...(options.lora?.length
          ? { lora: { adapters: options.lora.map((adapter) => ({ filePath: adapter.path, scale: adapter.scale ?? 1 })) } }
          : {}),
        // A fixed size: "length" when it fills, never a silent context shift.
        failedCreationRemedy: false,
        batching: { dispatchSchedule: dispatchAfterQueuedDecodes },
      });
      const slots = Array.from({ length: sequences }, () => context.getSequence());
      this.binary = { engine: "node-llama-cpp", binary: llama.buildType, threads };
      const metadata = model.fileInfo.metadata as unknown as {
        general?: { name?: string; architecture?: string };
        tokenizer?: { chat_template?: string; ggml?: { model?: string; tokens?: string[]; token_type?: number[] } };
      };
      const vocabulary = metadata.tokenizer?.ggml;
      const tokenTable = buildTokenBytesTable({
        model: vocabulary?.model ?? "llama",
        tokens: vocabulary?.tokens ?? [...model.iterateAllTokens()].map((token) => model.detokenize([token], true)),
        tokenTypes: vocabulary?.token_type,
      });
      return {
        library,
        handle,
        model,
        context,
        slots: new SlotPool(slots),
        tokenTable,
        promptInfo: {
          model,
          modelName: metadata.general?.name ?? this.modelId,
          architecture: metadata.general?.architecture,
          chatTemplate: options.chatTemplate ?? metadata.tokenizer?.chat_template,
          defaultPromptFormat: options.promptFormat,
        },
        grammars: new Map(),
        formatFits: new Map(),
      };
    } catch (error) {
      await handle.release();
      throw new ModelLoadError(options.modelPath, `cannot create a context for ${options.modelPath}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** The prompt format chat calls get by default, the same choice `camelid train` makes, and whether it fits the vocabulary. */
  async promptFormatFit(explicit?: string): Promise<PromptFormatFit> {
    return this.fitFor(await this.load(), explicit);
  }

  private fitFor(state: LoadedState, explicit: string | undefined): PromptFormatFit {
    const key = explicit ?? "";
    let fit = state.formatFits.get(key);
    if (!fit) {
      fit = fitFormatFor(state.promptInfo, explicit);
      state.formatFits.set(key, fit);
    }
    return fit;
  }

  async renderPrompt(options: CallOptions): Promise<RenderedPrompt> {
    validateCallOptions(options);
    const state = await this.load();
    return (await buildPrompt(state.promptInfo, options, state.context.contextSize)).rendered;
  }

  async doGenerate(options: CallOptions): Promise<GenerateResult> {
    return generateFromStream(this.modelId, options, await this.doStream(options));
  }

  async doStream(options: CallOptions): Promise<StreamResult> {
    validateCallOptions(options);
    const state = await this.load();
    const contextSize = state.context.contextSize;
    const built = await buildPrompt(state.promptInfo, options, contextSize);
    const promptTokens = built.tokens;
    if (promptTokens.length >= contextSize) throw new ContextLengthExceededError(promptTokens.length, contextSize);
    const warnings = collectWarnings(options);
    if (options.messages !== undefined) {
      const misfit = describeFormatMisfit(this.fitFor(state, options.promptFormat), this.options.modelPath);
      if (misfit) warnings.push({ type: "other", setting: "promptFormat", message: `${misfit}; its special texts were tokenized as plain text` });
    }
    if (options.responseFormat?.type === "json" && options.responseFormat.schema !== undefined) {
      warnings.push(...checkJsonSchema(options.responseFormat.schema));
    }
    const wantLogprobs = options.logprobs === true || options.topLogprobs !== undefined;
    const grammar = await this.grammarFor(state, options);
    if (grammar && wantLogprobs) {
      warnings.push({
        type: "unsupported-setting",
        setting: "logprobs",
        message: "logprobs are not available together with a JSON response format locally; they are omitted",
      });
    }
    const topLogprobs = wantLogprobs && !grammar ? (options.topLogprobs ?? 0) : undefined;
    const room = contextSize - promptTokens.length;
    const maxTokens = Math.min(options.maxTokens ?? room, room);
    const stops = [...(options.stop ?? []), ...built.rendered.formatStops, ...(grammar ? grammarStops(grammar) : [])];
    const n = options.n ?? 1;
    const baseSeed = options.seed ?? randomSeed();
    const reusePrefix = localProviderOptions(options).cachePrompt !== false;

    const stream = choiceStream({
      n,
      warnings,
      prompt: built.rendered,
      promptTokenCount: promptTokens.length,
      abortSignal: options.abortSignal,
      runChoice: async (choiceIndex, signal, onText) => {
        let sequence: LlamaContextSequence;
        try {
          sequence = await state.slots.acquire(signal);
        } catch {
          const now = performance.now();
          return { finishReason: "abort", completionTokens: 0, evaluatedPromptTokens: 0, startedAt: now, endedAt: now };
        }
        try {
          return await runChoice({
            library: state.library,
            model: state.model,
            sequence,
            tokenTable: state.tokenTable,
            slotIndex: state.slots.indexOf(sequence),
            promptTokens,
            maxTokens,
            sampling: resolveSampling(options, choiceIndex, baseSeed),
            stops,
            ...(grammar ? { grammar } : {}),
            ...(topLogprobs !== undefined ? { topLogprobs } : {}),
            reusePrefix,
            signal,
            onText,
          });
        } catch (error) {
          // A failed sequence may hold a half-evaluated state: clear it before reuse.
          await sequence.clearHistory().catch(() => undefined);
          throw error;
        } finally {
          state.slots.release(sequence);
        }
      },
    });
    return { stream, warnings, prompt: built.rendered };
  }

  private async grammarFor(state: LoadedState, options: CallOptions): Promise<LlamaGrammar | undefined> {
    const format = options.responseFormat;
    if (!format || format.type !== "json") return undefined;
    const key = format.schema ? JSON.stringify(format.schema) : "";
    let grammar = state.grammars.get(key);
    if (!grammar) {
      const llama = state.model.llama;
      grammar = format.schema
        ? llama.createGrammarForJsonSchema(format.schema as never)
        : llama.getGrammarFor("json");
      state.grammars.set(key, grammar);
      grammar.catch(() => state.grammars.delete(key));
    }
    try {
      return await grammar;
    } catch (error) {
      throw new InvalidArgumentError(
        "responseFormat.schema",
        `the JSON schema cannot be turned into a grammar: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async tokenize(text: string, options: { addBos?: boolean; parseSpecial?: boolean } = {}): Promise<number[]> {
    if (typeof text !== "string") throw new InvalidArgumentError("text", "text to tokenize must be a string");
    const { model } = await this.load();
    const tokens = model.tokenize(text, options.parseSpecial ?? false);
    return withBos(model, tokens, options.addBos ?? model.tokens.shouldPrependBosToken);
  }

  async detokenize(tokens: number[]): Promise<string> {
    const state = await this.load();
    checkTokenIds(tokens, state.tokenTable.length, "tokens");
    // Without BOS/EOS in front, llama.cpp strips SentencePiece's dummy-prefix space as it should.
    const visible = (tokens as Token[]).filter((token) => !state.model.isSpecialToken(token));
    return state.model.detokenize(visible, false);
  }

  /** Text of generated tokens exactly as a stream would show it (no dummy-prefix stripping). */
  async decodeGenerated(tokens: number[]): Promise<string> {
    const state = await this.load();
    checkTokenIds(tokens, state.tokenTable.length, "tokens");
    return decodeTokenBytes(state.tokenTable, tokens);
  }

  async logLikelihood(requests: LogLikelihoodRequest[], options: { abortSignal?: AbortSignal } = {}): Promise<LogLikelihoodResult[]> {
    return this.scoreEach(requests, options.abortSignal, (state, sequence, request, index) => {
      if (typeof request?.context !== "string" || typeof request?.continuation !== "string") {
        throw new InvalidArgumentError(`requests[${index}]`, `requests[${index}] needs string context and continuation`);
      }
      return scoreContinuation(state.model, sequence, request, state.context.contextSize);
    });
  }

  async logLikelihoodTokens(requests: TokenLogLikelihoodRequest[], options: { abortSignal?: AbortSignal } = {}): Promise<LogLikelihoodResult[]> {
    return this.scoreEach(requests, options.abortSignal, (state, sequence, request, index) => {
      if (!Array.isArray(request?.contextTokens) || !Array.isArray(request?.continuationTokens)) {
        throw new InvalidArgumentError(`requests[${index}]`, `requests[${index}] needs contextTokens and continuationTokens arrays`);
      }
      const tokens = [...request.contextTokens, ...request.continuationTokens];
      checkTokenIds(tokens, state.tokenTable.length, `requests[${index}]`);
      return scoreTokens(sequence, tokens as Token[], request.contextTokens.length, state.context.contextSize);
    });
  }

  /** Scores requests one after another on one sequence, so shared prefixes stay cached between them. */
  private async scoreEach<Request>(
    requests: Request[],
    abortSignal: AbortSignal | undefined,
    score: (state: LoadedState, sequence: LlamaContextSequence, request: Request, index: number) => Promise<LogLikelihoodResult>,
  ): Promise<LogLikelihoodResult[]> {
    if (!Array.isArray(requests)) throw new InvalidArgumentError("requests", "requests must be an array");
    const state = await this.load();
    const sequence = await state.slots.acquire(abortSignal);
    try {
      const results: LogLikelihoodResult[] = [];
      for (const [index, request] of requests.entries()) {
        if (abortSignal?.aborted) throw new AbortError();
        results.push(await score(state, sequence, request, index));
      }
      return results;
    } finally {
      state.slots.release(sequence);
    }
  }

  async describe(): Promise<ModelDescription> {
    const state = await this.load();
    const resolved = (() => {
      try {
        return resolveFormatFor(state.promptInfo, undefined).choice;
      } catch {
        return undefined;
      }
    })();
    return {
      modelId: this.modelId,
      provider: LOCAL_PROVIDER,
      contextSize: state.context.contextSize,
      ...(resolved ? { promptFormat: { name: resolved.name, source: resolved.source, reason: resolved.reason } } : {}),
    };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const state = await this.state?.catch(() => undefined);
    this.state = undefined;
    if (!state) return;
    state.slots.close();
    await state.context.dispose();
    await state.handle.release();
  }
}

export type { BuiltPrompt };
