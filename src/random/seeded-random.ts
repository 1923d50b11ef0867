// The one seeded generator (mulberry32). Everything that must be reproducible from a seed uses it:
// LoRA init and dropout (a resumed run is bit-identical), datagen prompts, bootstrap intervals,
// random-weight GGUF models (scripts/golden/*.py reimplement this exact sequence), logprob sampling.
// Math.random cannot be seeded. Callers that need independent streams mix their own seed first.

export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** The generator's position, for checkpoints. */
  getState(): number {
    return this.state;
  }

  setState(state: number): void {
    this.state = state >>> 0;
  }
}

/** The same generator as a plain function returning uniform floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  const generator = new SeededRandom(seed);
  return () => generator.next();
}
