import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { GgufFormatError, ModelLoadError, ModelNotFoundError } from "../../errors/index.js";
import { checkModelFile } from "../../gguf/index.js";
import { getLlamaRuntime, llamaErrorLog, type LlamaModel, type RuntimeOptions } from "./llama-runtime.js";
import { DEFAULT_LOAD_TIMEOUT_MS, withDeadline, type DeadlineClock } from "./load-deadline.js";

interface CacheEntry {
  model: Promise<LlamaModel>;
  references: number;
  /** Everyone waiting for this load who wants to hear how far it got. */
  progressListeners: Set<LoadProgressListener>;
}

/** Called with the fraction of the weights loaded, in (0, 1] (node-llama-cpp's onLoadProgress). */
export type LoadProgressListener = (fraction: number) => void;

const loadedModels = new Map<string, CacheEntry>();

export interface ModelHandle {
  model: LlamaModel;
  /** Drops this reference; the model is freed when the last one is released. */
  release(): Promise<void>;
}

function cacheKey(path: string, gpu: RuntimeOptions["gpu"]): string {
  return JSON.stringify([path, gpu ?? false]);
}

export interface AcquireOptions {
  /** Checking and loading the file must finish within this time (default DEFAULT_LOAD_TIMEOUT_MS). */
  loadTimeoutMs?: number;
  /** The deadline's timer (tests pass one they fire themselves). */
  clock?: DeadlineClock;
  /** Hears the load's progress while it runs (a caller joining a shared load hears the rest of it). */
  onProgress?: LoadProgressListener;
}

/**
 * Loads a GGUF model once per (path, gpu) and shares it: several LanguageModels (different
 * contexts, LoRA sets or sequence counts) over the same weights cost the weights' memory once.
 * The file is checked by camelid's own GGUF reader first (node-llama-cpp never sees a malformed
 * file), and the whole load is bounded by a deadline.
 */
export async function acquireModel(modelPath: string, gpu: RuntimeOptions["gpu"], options: AcquireOptions = {}): Promise<ModelHandle> {
  const path = resolve(modelPath);
  if (!existsSync(path)) throw new ModelNotFoundError(modelPath, `model file not found: ${modelPath}`);
  const key = cacheKey(path, gpu);
  let entry = loadedModels.get(key);
  if (!entry) {
    const timeoutMs = options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
    const progressListeners = new Set<LoadProgressListener>();
    const model = withDeadline(
      (signal) => loadCheckedModel(modelPath, path, gpu, signal, (fraction) => progressListeners.forEach((listener) => listener(fraction))),
      timeoutMs,
      () => new ModelLoadError(modelPath, `loading ${modelPath} did not finish within ${timeoutMs / 1000} s (the load timeout); the file may be corrupt`),
      (late) => void late.dispose(),
      options.clock,
    );
    entry = { model, references: 0, progressListeners };
    loadedModels.set(key, entry);
    model.catch(() => {
      if (loadedModels.get(key) === entry) loadedModels.delete(key);
    });
  }
  entry.references++;
  const current = entry;
  const { onProgress } = options;
  if (onProgress) current.progressListeners.add(onProgress);
  let model: LlamaModel;
  try {
    model = await current.model;
  } catch (error) {
    current.references--;
    throw error;
  } finally {
    if (onProgress) current.progressListeners.delete(onProgress);
  }
  let released = false;
  return {
    model,
    release: async () => {
      if (released) return;
      released = true;
      current.references--;
      if (current.references === 0 && loadedModels.get(key) === current) {
        loadedModels.delete(key);
        await model.dispose();
      }
    },
  };
}

/** How many distinct models are loaded now (for tests and diagnostics). */
export function loadedModelCount(): number {
  return loadedModels.size;
}

/** camelid's checks first (typed errors naming the problem), then llama.cpp's loader. */
async function loadCheckedModel(
  modelPath: string,
  path: string,
  gpu: RuntimeOptions["gpu"],
  signal: AbortSignal,
  onLoadProgress: LoadProgressListener,
): Promise<LlamaModel> {
  try {
    await checkModelFile(path);
  } catch (error) {
    if (error instanceof GgufFormatError || error instanceof ModelLoadError) throw error;
    throw new ModelLoadError(modelPath, `cannot read ${modelPath}: ${(error as Error).message}`, { cause: error });
  }
  const llama = await getLlamaRuntime({ gpu });
  const logMark = llamaErrorLog.mark();
  try {
    // llama.cpp reports progress from its loader thread through a queue the event loop drains, so the
    // reports of a fast load arrive after loadModel resolves. Its last report is 1 (llama.cpp's
    // load_all_data ends with progress_callback(1.0)): waiting for it hands every report to the
    // listeners before the model counts as loaded. Should that report be lost, a few turns of the event
    // loop (each drains the whole queue) end the wait: a loaded model is never held back for it.
    let reachedEnd!: () => void;
    const lastReport = new Promise<void>((resolve) => (reachedEnd = resolve));
    const model = await llama.loadModel({
      modelPath: path,
      gpuLayers: gpu ? "auto" : 0,
      loadSignal: signal,
      onLoadProgress: (fraction) => {
        onLoadProgress(fraction);
        // With GPU layers node-llama-cpp rescales the fraction (shift + p × (1 − shift)): allow rounding.
        if (fraction >= 1 - 1e-9) reachedEnd();
      },
    });
    await Promise.race([lastReport, eventLoopTurns(16)]);
    return model;
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const reasons = llamaErrorLog.since(logMark).filter((line) => /error/i.test(line));
    const reason = reasons.length > 0 ? reasons.join("; ") : (error as Error).message;
    throw new ModelLoadError(modelPath, `llama.cpp could not load ${modelPath}: ${reason}`, { cause: error });
  }
}

/** Resolves after `count` turns of the event loop (no timer: each turn runs what is already queued). */
async function eventLoopTurns(count: number): Promise<void> {
  for (let turn = 0; turn < count; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}
