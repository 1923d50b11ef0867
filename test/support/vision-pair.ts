// A random LLaMA and a random vision projector of the same embedding size (64): the smallest pair
// llama-server loads with --mmproj, so the whole image path runs in tests without real vision weights.
import { writeRandomLlamaGguf } from "../../src/gguf/random-llama.js";
import { writeRandomProjectorGguf } from "../../src/gguf/random-projector.js";
import { makePng } from "./png.js";
import { sharedPath } from "./shared-data.js";

export async function writeVisionPair(directory: string) {
  const llm = await writeRandomLlamaGguf({ path: `${directory}/llm.gguf`, vocabFrom: sharedPath("models/stories260K.gguf"), dim: 64, layers: 2, heads: 4, kvHeads: 4, hiddenDim: 128, seed: 7 });
  const projector = await writeRandomProjectorGguf({ path: `${directory}/mmproj.gguf`, textDim: 64, seed: 3 });
  return { llm, projector };
}

/** A 12×12 gradient (stb_image decodes it; clip resizes it to the projector's 32×32). */
export const gradientPng = makePng(12, 12, (x, y) => [x * 20, y * 20, 128]);
