import { SeededRandom } from "../../random/seeded-random.js";

/**
 * The reward head: Hugging Face's LlamaForSequenceClassification score layer with one label (what trl's
 * RewardTrainer trains), nn.Linear(dim, 1, bias=False), i.e. one weight vector w of size dim; the reward
 * of a sequence is w · h, h the final-norm hidden state of its last token.
 */
export const REWARD_HEAD_INIT_STD = 0.02;

/**
 * A fresh head as LlamaPreTrainedModel._init_weights draws it: normal, mean 0, std initializer_range
 * (0.02). Drawn from camelid's seeded generator (Box–Muller), so reproducible from the seed, not torch's values.
 */
export function initialRewardHead(dim: number, seed: number): Float32Array {
  const random = new SeededRandom((seed * 2654435761 + 0x5eed) >>> 0);
  const head = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    const u = 1 - random.next(); // (0, 1]: log(u) is finite
    head[i] = REWARD_HEAD_INIT_STD * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
  }
  return head;
}

/** rewards[s] = hidden[s] · head for each of the rows of hidden [rows, dim]. */
export function headRewards(hidden: Float32Array, head: Float32Array, rows: number): Float64Array {
  const C = head.length;
  const rewards = new Float64Array(rows);
  for (let s = 0; s < rows; s++) {
    let sum = 0;
    for (let c = 0; c < C; c++) sum += hidden[s * C + c] * head[c];
    rewards[s] = sum;
  }
  return rewards;
}
