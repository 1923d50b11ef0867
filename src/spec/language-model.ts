import type { CallOptions } from "./call-options.js";
import type { RenderedPrompt } from "./prompt.js";
import type { GenerateResult } from "./results.js";
import type { StreamResult } from "./stream-parts.js";

export interface LogLikelihoodRequest {
  /** Conditioning text (rendered as is; BOS added as the tokenizer says). */
  context: string;
  /** Text whose log-probability given the context is wanted. */
  continuation: string;
  /**
   * Whether special-token strings in the text ("</s>", "<|im_end|>") become special tokens. Default
   * false: benchmark text is plain text. Rendered prompt markup (format detection) sets it.
   */
  parseSpecial?: boolean;
}

/** The same request as token ids: the context is used exactly as given (put BOS in it if wanted). */
export interface TokenLogLikelihoodRequest {
  contextTokens: number[];
  continuationTokens: number[];
}

export interface LogLikelihoodResult {
  /** Sum of natural-log probabilities of the continuation's tokens. */
  logprob: number;
  tokenCount: number;
  /** Whether greedy decoding would have produced exactly these tokens. */
  isGreedy: boolean;
}

/** One upstream of a replicated model, as the health checks and the router see it now. */
export interface ReplicaStatus {
  /** Names it in metrics and the request log (its URL unless configured). */
  name: string;
  healthy: boolean;
  /** Requests sent to it and not finished yet. */
  inFlight: number;
  /** Requests it was given (a failed-over request counts once on each replica tried). */
  requests: number;
  /** Requests it failed (the reason it was marked unhealthy), in-stream errors included. */
  failures: number;
  /** Requests moved from it to another replica after it failed them before any output. */
  failovers: number;
  /** Sum and count of the durations of its finished requests, in seconds. */
  latencySecondsSum: number;
  latencyCount: number;
  /** Why it is unhealthy, while it is. */
  lastError?: string;
}

/**
 * A local model's engine process, where one runs it (the llama-server engine): "stopped" (never started, or
 * ended idle: starts on the next request), "starting", "ready", "crashed-backing-off" (its last run or start
 * failed: it starts again on demand, after the restart backoff).
 */
export type EngineProcessState = "stopped" | "starting" | "ready" | "crashed-backing-off";

/**
 * Which native binary an in-process engine runs and with how many threads: node-llama-cpp's `llama.buildType`
 * ("prebuilt": the binary shipped in the npm package; "localBuild": `camelid engine build --in-process`).
 */
export interface EngineBinaryInfo {
  engine: "node-llama-cpp";
  binary: string;
  threads: number;
}

export interface ModelDescription {
  modelId: string;
  provider: string;
  contextSize?: number;
  /** The prompt format this model uses for messages when none is forced. */
  promptFormat?: { name: string; source: string; reason: string };
}

/**
 * The one interface every model sits behind, local or remote. Callers never learn which:
 * same finish reasons, same usage fields, same stream parts. Modeled on the Vercel AI SDK's
 * LanguageModel spec (`do*` methods are the raw, unretried backend calls).
 */
export interface LanguageModel {
  readonly specificationVersion: "camelid-v1";
  readonly provider: string;
  readonly modelId: string;

  doGenerate(options: CallOptions): Promise<GenerateResult>;
  doStream(options: CallOptions): Promise<StreamResult>;

  /** Render the exact prompt (and tokens, where possible) without generating. */
  renderPrompt(options: CallOptions): Promise<RenderedPrompt>;

  /** Optional capabilities; a backend that lacks one leaves it undefined. */
  tokenize?(text: string, options?: { addBos?: boolean; parseSpecial?: boolean }): Promise<number[]>;
  detokenize?(tokens: number[]): Promise<string>;
  logLikelihood?(requests: LogLikelihoodRequest[], options?: { abortSignal?: AbortSignal }): Promise<LogLikelihoodResult[]>;
  /** Token-exact scoring (no re-tokenization), where the backend evaluates token ids. */
  logLikelihoodTokens?(requests: TokenLogLikelihoodRequest[], options?: { abortSignal?: AbortSignal }): Promise<LogLikelihoodResult[]>;
  describe?(): Promise<ModelDescription>;
  /** A model that routes over several upstreams reports each one (health, load, counters). */
  replicas?(): ReplicaStatus[];
  /** A model run by a supervised process reports the process's state. */
  processState?(): EngineProcessState;
  /** An in-process engine reports its binary and threads once loaded (undefined before). */
  engineInfo?(): EngineBinaryInfo | undefined;
  dispose?(): Promise<void>;
}
