import { SeededRandom } from "../engine/index.js";
import { shuffledIndices, type TrainingRow } from "./prepare-data.js";

/** Reusable [B, T] buffers for one micro-batch (allocated once per run). */
export interface BatchBuffers {
  B: number;
  T: number;
  tokens: Int32Array;
  targets: Int32Array;
  lossMask: Uint8Array;
}

export function allocateBatch(B: number, T: number): BatchBuffers {
  return { B, T, tokens: new Int32Array(B * T), targets: new Int32Array(B * T), lossMask: new Uint8Array(B * T) };
}

/** Writes rows into the batch; positions past a row's end are padding (token 0, masked). Returns the counted targets. */
export function fillBatch(batch: BatchBuffers, rows: readonly (TrainingRow | undefined)[]): number {
  const { B, T } = batch;
  batch.tokens.fill(0);
  batch.targets.fill(0);
  batch.lossMask.fill(0);
  let counted = 0;
  for (let b = 0; b < B; b++) {
    const row = rows[b];
    if (!row) continue;
    const positions = Math.min(T, row.tokens.length - 1);
    const offset = b * T;
    for (let t = 0; t < positions; t++) {
      batch.tokens[offset + t] = row.tokens[t];
      batch.targets[offset + t] = row.tokens[t + 1];
      batch.lossMask[offset + t] = row.trainable[t + 1];
      counted += row.trainable[t + 1];
    }
  }
  return counted;
}

/**
 * Which rows the k-th micro-batch row of the run is: epochs follow each other, each a fresh seeded
 * permutation. It is a pure function of (seed, k), so a resumed run reads exactly the rows the
 * uninterrupted one would have, without storing a data position.
 */
export class RowSchedule {
  private cachedEpoch = -1;
  private order: number[] = [];

  constructor(
    private readonly rowCount: number,
    private readonly seed: number,
  ) {}

  rowAt(k: number): number {
    const epoch = Math.floor(k / this.rowCount);
    if (epoch !== this.cachedEpoch) {
      this.order = shuffledIndices(this.rowCount, new SeededRandom((this.seed * 1_000_003 + epoch * 7919) >>> 0));
      this.cachedEpoch = epoch;
    }
    return this.order[k % this.rowCount];
  }
}
