import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ModelLoadError, ModelNotFoundError } from "../../errors/index.js";
import { getLlamaRuntime, type LlamaModel, type RuntimeOptions } from "./llama-runtime.js";

interface CacheEntry {
  model: Promise<LlamaModel>;
  references: number;
}

const loadedModels = new Map<string, CacheEntry>();

export interface ModelHandle {
  model: LlamaModel;
  /** Drops this reference; the model is freed when the last one is released. */
  release(): Promise<void>;
}

function cacheKey(path: string, gpu: RuntimeOptions["gpu"]): string {
  return JSON.stringify([path, gpu ?? false]);
}

/**
 * Loads a GGUF model once per (path, gpu) and shares it: several LanguageModels (different
 * contexts, LoRA sets or sequence counts) over the same weights cost the weights' memory once.
 */
export async function acquireModel(modelPath: string, gpu: RuntimeOptions["gpu"]): Promise<ModelHandle> {
  const path = resolve(modelPath);
  if (!existsSync(path)) throw new ModelNotFoundError(modelPath, `model file not found: ${modelPath}`);
  const key = cacheKey(path, gpu);
  let entry = loadedModels.get(key);
  if (!entry) {
    const model = (async () => {
      const llama = await getLlamaRuntime({ gpu });
      try {
        return await llama.loadModel({ modelPath: path, gpuLayers: gpu ? "auto" : 0 });
      } catch (error) {
        throw new ModelLoadError(modelPath, `cannot load ${modelPath}: ${(error as Error).message}`, { cause: error });
      }
    })();
    entry = { model, references: 0 };
    loadedModels.set(key, entry);
    model.catch(() => {
      if (loadedModels.get(key) === entry) loadedModels.delete(key);
    });
  }
  entry.references++;
  const current = entry;
  let model: LlamaModel;
  try {
    model = await current.model;
  } catch (error) {
    current.references--;
    throw error;
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
